// The live page: one EventSource on /api/stream; each message is a full snapshot, drawn with Chart.js.
/* global Chart */
const $ = (id) => document.getElementById(id)
const int = new Intl.NumberFormat("en-US")
const time = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
})
const hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false })

// Money arrives as an exact decimal string ("1234.50"): add separators to the text, never via a float.
const money = (decimal) => {
  const [whole, cents = "00"] = String(decimal).replace("-", "").split(".")
  const sign = String(decimal).startsWith("-") ? "-" : ""
  return `${sign}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents.padEnd(2, "0")}`
}
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c])
const ago = (ms) =>
  ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`

Chart.defaults.color = "#8591ab"
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily
Chart.defaults.animation = false

const spark = (id, color) =>
  new Chart($(id), {
    type: "line",
    data: { labels: [], datasets: [{ data: [], borderColor: color, backgroundColor: `${color}22`, fill: true }] },
    options: {
      maintainAspectRatio: false,
      elements: { point: { radius: 0 }, line: { borderWidth: 2, tension: 0.3 } },
      plugins: { legend: { display: false }, tooltip: { mode: "index", intersect: false } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
    },
  })
const sparks = {
  events: spark("spark-events", "#5ab0ff"),
  sessions: spark("spark-sessions", "#b18cff"),
  orders: spark("spark-orders", "#3ccf91"),
  revenue: spark("spark-revenue", "#f5b94a"),
}
const funnel = new Chart($("funnel"), {
  type: "bar",
  data: {
    labels: ["Sessions", "Viewed a product", "Added to cart", "Started checkout", "Ordered"],
    datasets: [{ data: [], backgroundColor: ["#5ab0ff", "#6f9dff", "#8d8bff", "#b18cff", "#3ccf91"], borderRadius: 4 }],
  },
  options: {
    indexAxis: "y",
    maintainAspectRatio: false,
    plugins: { legend: { display: false } },
    scales: { x: { beginAtZero: true, grid: { color: "#263049" } }, y: { grid: { display: false } } },
  },
})

const setSpark = (chart, minutes, pick) => {
  chart.data.labels = minutes.map((m) => hm.format(m.minute))
  chart.data.datasets[0].data = minutes.map(pick)
  chart.update("none")
}

let seenOrders = new Set()
// For the browser spec and the curious: how long after its lake commit each batch reached this page.
const pulse = { updates: 0, lastCommitAt: null, delays: [] }
window.__pulse = pulse

const render = (s) => {
  pulse.updates++
  if (s.health.lastCommitAt !== null && s.health.lastCommitAt !== pulse.lastCommitAt) {
    // The first snapshot may carry an old commit (the page just opened): only later ones measure delivery.
    if (pulse.lastCommitAt !== null) pulse.delays.push(Date.now() - Date.parse(s.health.lastCommitAt))
    pulse.lastCommitAt = s.health.lastCommitAt
    if (pulse.delays.length > 1000) pulse.delays.shift()
  }
  $("as-of").textContent = time.format(s.asOf)
  const last = s.summary.lastMinute
  const cur = s.summary.currentMinute
  $("kpi-events").textContent = int.format(last.events)
  $("kpi-events-sub").textContent = cur
    ? `this minute: ${int.format(cur.pageViews)} page views · ${int.format(cur.addToCarts)} carts · ${int.format(cur.checkouts)} checkouts`
    : ""
  $("kpi-sessions").textContent = int.format(s.summary.activeSessions)
  $("kpi-sessions-sub").textContent = "distinct sessions with an event"
  $("kpi-orders").textContent = int.format(last.orders)
  $("kpi-orders-sub").textContent = cur
    ? `this minute: ${int.format(cur.orders)} orders, ${int.format(cur.units)} units`
    : ""
  $("kpi-revenue").textContent = money(last.netRevenue)
  $("kpi-revenue-sub").textContent = cur ? `this minute: ${money(cur.netRevenue)}` : ""
  setSpark(sparks.events, s.minutes, (m) => m.events)
  setSpark(sparks.sessions, s.minutes, (m) => m.activeSessions)
  setSpark(sparks.orders, s.minutes, (m) => m.orders)
  setSpark(sparks.revenue, s.minutes, (m) => m.netCents / 100)

  const f = s.summary.funnel
  if (f) {
    funnel.data.datasets[0].data = [
      f.sessions,
      f.product_view_sessions,
      f.cart_sessions,
      f.checkout_sessions,
      f.order_sessions,
    ].map(Number)
    funnel.update("none")
    $("funnel-as-of").textContent = `as of ${time.format(new Date(f.asOf))}`
    $("funnel-conv").textContent =
      `conversion ${(Number(f.conversion_rate ?? 0) * 100).toFixed(2)}% of ${int.format(Number(f.sessions))} sessions`
  } else {
    $("funnel-as-of").textContent = "(waiting for the gold job)"
  }

  const h = s.health
  const lag = h.lag.total
  $("h-lag").innerHTML =
    lag === null
      ? '<span class="muted">no metrics</span>'
      : `<span class="${lag < 5000 ? "ok" : lag < 50000 ? "warn" : "bad"}">${int.format(lag)}</span>`
  $("h-fresh").innerHTML =
    h.freshnessMs === null
      ? '<span class="muted">no events</span>'
      : `<span class="${h.freshnessMs < 5000 ? "ok" : h.freshnessMs < 60000 ? "warn" : "bad"}">${ago(h.freshnessMs)}</span>`
  $("h-bots").textContent = `${int.format(s.summary.bots.events)} events`
  const rate = h.dlq.rate * 100
  $("h-dlq").innerHTML =
    `<span class="${rate < 1 ? "ok" : rate < 5 ? "warn" : "bad"}">${rate.toFixed(2)}%</span> <span class="muted">${int.format(h.dlq.dlq)} of ${int.format(h.dlq.records)}</span>`
  $("h-reasons").innerHTML =
    h.dlq.recent.length === 0
      ? '<li class="empty">none</li>'
      : h.dlq.recent
          .map(
            (d) =>
              `<li><span class="muted">${time.format(d.at)}</span><code>${esc(d.code)}</code><span class="msg">${esc(d.message)}</span></li>`,
          )
          .join("")

  const w15 = s.topProducts.find((w) => w.windowMinutes === 15)
  const w60 = s.topProducts.find((w) => w.windowMinutes === 60)
  $("top-views").innerHTML =
    w15 && w15.byViews.length > 0
      ? w15.byViews
          .map(
            (p, i) =>
              `<tr><td>${i + 1}</td><td>${esc(p.name)}</td><td class="muted">${esc(p.category)}</td><td class="num">${int.format(p.views)}</td></tr>`,
          )
          .join("")
      : '<tr><td colspan="4" class="empty">no product views yet</td></tr>'
  $("top-revenue").innerHTML =
    w60 && w60.byRevenue.length > 0
      ? w60.byRevenue
          .map(
            (p, i) =>
              `<tr><td>${i + 1}</td><td>${esc(p.name)}</td><td class="num">${int.format(p.units)}</td><td class="num">${money(p.revenue)}</td></tr>`,
          )
          .join("")
      : '<tr><td colspan="4" class="empty">no orders yet</td></tr>'

  const first = seenOrders.size === 0
  const next = new Set()
  $("orders").innerHTML =
    s.recentOrders.length === 0
      ? '<tr><td colspan="6" class="empty">no orders yet</td></tr>'
      : s.recentOrders
          .slice(0, 12)
          .map((o) => {
            next.add(o.orderId)
            const isNew = !first && !seenOrders.has(o.orderId)
            return `<tr class="${isNew ? "new" : ""}"><td>${time.format(o.ts)}</td><td><code>${esc(o.orderId)}</code></td><td class="num">${int.format(o.units)}</td><td>${esc(o.paymentMethod.replace("_", " "))}</td><td>${esc(o.country)} · ${esc(o.device)}</td><td class="num">${money(o.total)}</td></tr>`
          })
          .join("")
  seenOrders = next
}

const connect = () => {
  const source = new EventSource("/api/stream")
  source.addEventListener("snapshot", (e) => {
    const snapshot = JSON.parse(e.data)
    const ready = snapshot.health.ingest.ready
    $("conn").className = ready ? "pill pill-live" : "pill pill-wait"
    $("conn").textContent = ready ? "live" : "catching up…"
    render(snapshot)
  })
  source.onerror = () => {
    $("conn").className = "pill pill-down"
    $("conn").textContent = "reconnecting…"
  }
}
connect()
