/**
 * Where a visit came from, in five classes (docs/contract/events-v1.md, "Enrichment"): the shop's own tagging
 * (`utm_medium`) wins, then the referrer's host, then what is left: no referrer and no utm is `direct`.
 */
export const REFERRER_CLASSES = ["search", "social", "email", "direct", "other"] as const
export type ReferrerClass = (typeof REFERRER_CLASSES)[number]

const EMAIL_MEDIA = new Set(["email", "e-mail", "e_mail", "newsletter", "mail"])
const SOCIAL_MEDIA = new Set(["social", "social-media", "social_media", "social-network", "social_network", "sm"])
const SEARCH_MEDIA = new Set(["organic", "cpc", "ppc", "paidsearch", "paid_search", "paid-search", "sem"])

/** Hosts by their registrable name's first label (google.com, google.de... are all `google`). */
const SEARCH_SITES = new Set([
  "google",
  "bing",
  "duckduckgo",
  "yandex",
  "baidu",
  "ecosia",
  "startpage",
  "qwant",
  "naver",
  "seznam",
  "search",
])
const SOCIAL_SITES = new Set([
  "facebook",
  "instagram",
  "t",
  "twitter",
  "x",
  "linkedin",
  "lnkd",
  "pinterest",
  "reddit",
  "tiktok",
  "youtube",
  "threads",
  "snapchat",
  "tumblr",
  "vk",
  "weibo",
  "mastodon",
  "bsky",
  "whatsapp",
  "telegram",
])
const WEBMAIL_HOSTS = new Set([
  "mail.google.com",
  "outlook.live.com",
  "outlook.office.com",
  "mail.yahoo.com",
  "mail.proton.me",
])

/** The label that names a site: `www.google.co.uk` -> `google`, `l.instagram.com` -> `instagram`, `t.co` -> `t`. */
const siteLabel = (host: string): string => {
  const parts = host.split(".").filter((p) => p !== "")
  if (parts.length <= 1) return parts[0] ?? ""
  // Second-level country domains (co.uk, com.au): the label before them.
  const tail = parts.length >= 3 && parts.at(-2)!.length <= 3 && parts.at(-1)!.length === 2 ? 3 : 2
  return parts[parts.length - tail] ?? ""
}

const hostOf = (referrer: string): string | null => {
  try {
    return new URL(referrer).hostname.toLowerCase()
  } catch {
    return null
  }
}

const cache = new Map<string, ReferrerClass>()

export const referrerClass = (
  referrer: string | null,
  utmSource: string | null,
  utmMedium: string | null,
): ReferrerClass => {
  const medium = utmMedium?.trim().toLowerCase() ?? ""
  if (EMAIL_MEDIA.has(medium)) return "email"
  if (SOCIAL_MEDIA.has(medium)) return "social"
  if (referrer !== null && referrer !== "") {
    let byHost = cache.get(referrer)
    if (byHost === undefined) {
      const host = hostOf(referrer)
      const label = host === null ? "" : siteLabel(host)
      byHost =
        host !== null && WEBMAIL_HOSTS.has(host)
          ? "email"
          : SEARCH_SITES.has(label)
            ? "search"
            : SOCIAL_SITES.has(label)
              ? "social"
              : "other"
      if (cache.size >= 50_000) cache.clear()
      cache.set(referrer, byHost)
    }
    if (byHost !== "other" || !SEARCH_MEDIA.has(medium)) return byHost
  }
  if (SEARCH_MEDIA.has(medium)) return "search"
  if ((referrer === null || referrer === "") && medium === "" && (utmSource ?? "") === "") return "direct"
  return "other"
}
