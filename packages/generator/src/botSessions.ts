/**
 * Bot traffic for `--bot-rate` (docs/contract/events-v1.md, "Bots"): two of three bot sessions are crawlers
 * whose user agent says so (isbot knows them), one is a script with a browser's user agent that fires page
 * views faster than a person (100 to 140 in well under two minutes: past the 60-a-minute limit). Drawn from the
 * generator's own Random, so a seed gives the same bots.
 */
import type { Sku } from "./catalog.ts"
import type { Random } from "./random.ts"
import type { Session, Step } from "./sessionWalk.ts"

const CRAWLERS = [
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
  "python-requests/2.32.3",
] as const
const BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
const NO_UTM = { source: null, medium: null, campaign: null, referrer: null }

export const walkBotSession = (
  random: Random,
  catalog: ReadonlyArray<Sku>,
  start: number,
  sessionId: string,
): Session => {
  const crawler = random.chance(2 / 3)
  const pages = crawler ? random.int(5, 25) : random.int(100, 140)
  const steps: Array<Step> = []
  let t = start
  for (let i = 0; i < pages; i++) {
    const sku = random.pick(catalog)
    steps.push({
      at: t,
      userId: null,
      fields: {
        event_type: "page_view",
        page_type: "product",
        page_url: `/p/${sku.sku}`,
        sku: sku.sku,
        category: sku.category,
      },
    })
    t += crawler ? random.int(1_000, 8_000) : random.int(200, 700)
  }
  return {
    id: sessionId,
    visitor: {
      anonymousId: `anon-bot-${random.uuid().slice(0, 14)}`,
      accountId: null,
      device: "desktop",
      country: "US",
      userAgent: crawler ? random.pick(CRAWLERS) : BROWSER,
    },
    utm: NO_UTM,
    steps,
    order: null,
  }
}
