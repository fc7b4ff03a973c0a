// rankr's dashboard: hash-routed pages over the REST API (/api/v1), live
// over its event stream. Every list is bounded (a page of the API at a
// time, the live feed to feedMax lines, the budget samples to a ring), and
// nothing polls a whole table: a page shows what changed by the stream and
// re-reads one bounded page when asked.
import {line, bars} from "/ui/charts.js";
import {pages as automationPages} from "/ui/automations.js";

const view = document.getElementById("view");
const API = "/api/v1";
const feedMax = 100, ringMax = 120, samplePeriod = 5000;

// ---- helpers -------------------------------------------------------------
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const when = t => t ? new Date(t).toLocaleString() : "never";
function ago(t) {
  if (!t) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}
// money formats an exact major-unit amount (the API's JSON number, kept as
// its text) in its currency.
function money(v, cur) {
  if (v === undefined || v === null) return "";
  const text = String(v), decimals = (text.split(".")[1] || "").length;
  try {
    return new Intl.NumberFormat(undefined, {style: "currency", currency: cur, minimumFractionDigits: Math.max(decimals, 0), maximumFractionDigits: Math.max(decimals, 2)}).format(text);
  } catch (e) { return text + " " + (cur || ""); }
}
const badge = (s, good = ["active", "paid", "fulfilled", "delivered", "sent", "succeeded", "completed", "pushed"], bad = ["dead", "failed", "suspended", "error", "unpaid", "refused"]) =>
  `<span class="badge ${good.includes(s) ? "good" : bad.includes(s) ? "bad" : "warn"}">${esc(s || "—")}</span>`;

let toastTimer;
function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg; t.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

// api calls the API with the session cookie. A change (POST) is sent by
// this page's own script, so the browser says Sec-Fetch-Site: same-origin,
// which the guard requires of a cookie's changes.
async function api(path, {method = "GET", body} = {}) {
  const init = {method, credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}};
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path.startsWith("/ui/") ? path : API + path, init);
  if (r.status === 401) { location.reload(); throw new Error("signed out"); }
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const e = new Error(data?.error?.message || `${r.status} ${r.statusText}`);
    e.status = r.status; e.code = data?.error?.code; throw e;
  }
  return data;
}
const qs = o => { const p = new URLSearchParams(); for (const [k, v] of Object.entries(o)) if (v !== "" && v !== undefined && v !== null && v !== false) p.set(k, v); const s = p.toString(); return s ? "?" + s : ""; };

// The event fields a page shows (as web.go's shownFields): what moved and
// by how much, never who.
const shownFields = new Set(["amount", "amountRefunded", "amountPaid", "currency", "status", "fulfillmentStatus", "paymentStatus", "rankrStatus",
  "orderId", "items", "kind", "entityType", "entityId", "state"]);
function describe(e) {
  const d = e.data || {}, parts = [];
  for (const k of ["status", "paymentStatus", "fulfillmentStatus", "state"]) if (shownFields.has(k) && d[k] && typeof d[k] === "string") parts.push(`${k} ${d[k]}`);
  if (typeof d.items === "number") parts.push(d.items + (d.items === 1 ? " item" : " items"));
  if (d.orderId) parts.push("order " + d.orderId);
  for (const [k, v] of Object.entries(d.changes || {})) if (shownFields.has(k) && Array.isArray(v)) parts.push(`${k} ${v[0]} → ${v[1]}`);
  return parts.join(" · ");
}
// A tracking number is shown by its end only.
const masked = n => !n ? "" : n.length <= 4 ? "…" + n : "…" + n.slice(-4);

// ---- who is signed in ---------------------------------------------------------
let me = {scopes: []};
const can = s => me.scopes.includes(s);

// ---- the live stream ------------------------------------------------------------
// EventSource reconnects by itself and sends Last-Event-ID, so the server
// resumes after the last event seen; when the server refuses (the stream
// closed for good), we reopen it from the last seq ourselves.
const kinds = ["order.created", "order.updated", "order.status_changed", "order.fulfillment_status_changed", "order.payment_status_changed",
  "order.deleted", "fulfillment.created", "transaction.created", "transaction.updated", "transaction.status_changed", "transaction.deleted",
  "subscription.created", "subscription.updated", "subscription.status_changed", "subscription.renewed", "subscription.deleted",
  "invoice.created", "invoice.updated", "invoice.status_changed", "invoice.deleted"];
const feed = [];
const listeners = new Set();
let lastSeq = 0, es = null, retry = 1000;
const liveEl = document.getElementById("live");
function setLive(on, text) { liveEl.className = "live " + (on ? "on" : "off"); liveEl.textContent = text; }
function connect() {
  if (!can("events:read")) { setLive(false, "no live feed for this key"); return; }
  es = new EventSource(API + "/events/stream" + (lastSeq ? "?after=" + lastSeq : ""));
  es.onopen = () => { retry = 1000; setLive(true, "live"); };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setLive(false, "reconnecting…");
      setTimeout(connect, retry); retry = Math.min(retry * 2, 30000);
    } else setLive(false, "reconnecting…");
  };
  const take = m => {
    let e; try { e = JSON.parse(m.data); } catch (err) { return; }
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    feed.unshift(e); if (feed.length > feedMax) feed.length = feedMax;
    for (const f of listeners) f(e);
  };
  for (const k of kinds) es.addEventListener(k, take);
  es.onmessage = take;
}

// ---- routing --------------------------------------------------------------------
let cleanup = [];
function onLeave(f) { cleanup.push(f); }
function every(ms, f) { const t = setInterval(f, ms); onLeave(() => clearInterval(t)); }
function listen(f) { listeners.add(f); onLeave(() => listeners.delete(f)); }

// A page with an argument shows one thing of its list's: the nav marks
// the list.
const pages = {overview, orders, order, queue, exceptions, deliveries, connections, audit};
const oneOf = {orders: "order", automations: "automation", runs: "run", catalog: "catalogItem"};
async function route() {
  for (const f of cleanup) f();
  cleanup = [];
  // After a "?" come the page's filters (#/runs?automation=x), which it reads itself.
  const [name = "overview", ...args] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/").filter(Boolean).map(decodeURIComponent);
  const page = name === "orders" ? (args.length === 2 ? "order" : name) : args.length && oneOf[name] ? oneOf[name] : name;
  const f = pages[page] || overview;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = "rankr · " + (page === "order" ? "order " + args[1] : args.length && page !== name ? `${page.replace("catalogItem", "catalog item")} ${args[0]}` : name);
  try { await f(...args); } catch (e) { view.innerHTML = `<h1>${esc(name)}</h1><p class="err">${esc(e.message)}</p>`; }
}

// ---- overview ---------------------------------------------------------------
// ring keeps each location's sampled budget use, newest last, at most
// ringMax samples (ten minutes at one every five seconds).
const ring = new Map();
let lastOverview = null;
async function sample() {
  const ov = await api("/overview");
  lastOverview = ov;
  for (const l of ov.locations) {
    const r = ring.get(l.locationId) || [];
    r.push(l.budget.burst ? 100 * l.budget.inWindow / l.budget.burst : 0);
    if (r.length > ringMax) r.shift();
    ring.set(l.locationId, r);
  }
  return ov;
}
async function overview() {
  view.innerHTML = `<h1>Overview</h1><div id="ov-money" class="grid"></div><div id="ov-locs" class="grid"></div>
    <section class="card" aria-labelledby="feed-h"><h2 id="feed-h">Live activity</h2><ul class="feed" id="feed"></ul></section>`;
  const draw = ov => {
    const m = document.getElementById("ov-money"), ls = document.getElementById("ov-locs");
    if (!m) return;
    m.innerHTML = ov.money.length ? "" : `<section class="card"><h2>Money</h2><p class="muted">No payments or open balances this month yet.</p></section>`;
    for (const c of ov.money) {
      const s = document.createElement("section");
      s.className = "card"; s.setAttribute("aria-label", "Money in " + c.currency);
      s.innerHTML = `<h2>Money · ${esc(c.currency)}</h2><div class="stats">
        <div><div class="n" data-k="collected-today">${esc(money(c.collectedToday, c.currency))}</div><div class="l">collected today</div></div>
        <div><div class="n">${esc(money(c.outstandingToday, c.currency))}</div><div class="l">outstanding today</div></div>
        <div><div class="n">${esc(money(c.collectedMonth, c.currency))}</div><div class="l">collected this month</div></div>
        <div><div class="n">${esc(money(c.outstandingMonth, c.currency))}</div><div class="l">outstanding this month</div></div></div>
        <h3>This month by day</h3><div class="legend"><span><span class="sw a"></span>collected</span><span><span class="sw b"></span>outstanding</span></div>`;
      s.append(bars(c.days.map(d => ({label: d.date, a: Number(d.collected), b: Number(d.outstanding)})),
        {label: `Money collected and outstanding in ${c.currency} per day this month`, fmt: v => money(Math.round(v), c.currency)}));
      m.append(s);
    }
    ls.innerHTML = "";
    if (!ov.locations.length) ls.innerHTML = `<section class="card"><p>No locations yet: run <code>rankr connect</code>.</p></section>`;
    for (const l of ov.locations) {
      const b = l.budget, s = document.createElement("section");
      s.className = "card"; s.dataset.location = l.locationId; s.setAttribute("aria-label", "Location " + (l.name || l.locationId));
      const lag = l.syncLagSeconds < 0 ? "never polled" : Math.round(l.syncLagSeconds) + " s";
      s.innerHTML = `<h2>${esc(l.name || l.locationId)} <span class="mono muted">${esc(l.locationId)}</span> ${badge(l.state)}</h2>
        <div class="stats">
          <div><div class="n" data-k="orders">${l.counts.orders}</div><div class="l">orders</div></div>
          <div><div class="n">${l.counts.transactions}</div><div class="l">payments</div></div>
          <div><div class="n">${esc(lag)}</div><div class="l">sync lag (last poll)</div></div>
          <div><div class="n">${esc(ago(l.lastSyncAt))}</div><div class="l">last change synced</div></div>
          <div><div class="n" data-k="last-webhook">${esc(ago(l.lastWebhookAt))}</div><div class="l">last webhook${l.lastWebhookType ? " (" + esc(l.lastWebhookType) + ")" : ""}</div></div>
          <div><div class="n"><a href="#/exceptions">${l.openExceptions}</a></div><div class="l">open exceptions</div></div>
          <div><div class="n">${b.forecastDailyUse.toLocaleString()}</div><div class="l">GHL calls forecast today (of ${b.dailyLimit.toLocaleString()})</div></div>
        </div>
        <h3>GHL rate budget used (of ${b.burst} per ${b.intervalMs / 1000} s), sampled every ${samplePeriod / 1000} s</h3>`;
      s.append(line(ring.get(l.locationId) || [], {label: `GHL rate budget used over time for ${l.name || l.locationId}`}));
      s.insertAdjacentHTML("beforeend", `<p class="muted">${b.dailyUsed.toLocaleString()} calls used today, ${b.dailyRemaining.toLocaleString()} left${b.throttled ? `, ${b.throttled} throttled` : ""} ·
        ${esc(l.phase || (l.backfillDone ? "idle" : "backfilling"))} · last poll ${esc(ago(l.lastPollAt))}</p>
        ${l.stateMessage ? `<p class="err">${esc(l.stateMessage)}</p>` : ""}${l.lastError && l.state === "active" ? `<p class="err">last error: ${esc(l.lastError)}</p>` : ""}`);
      ls.append(s);
    }
  };
  const drawFeed = () => {
    const ul = document.getElementById("feed");
    if (!ul) return;
    ul.innerHTML = feed.length ? feed.map(e => `<li><span class="muted">${esc(new Date(e.at).toLocaleTimeString())}</span>
      <strong>${esc(e.kind)}</strong> ${e.recordType === "order" ? `<a class="mono" href="#/orders/${encodeURIComponent(e.locationId)}/${encodeURIComponent(e.recordId)}">${esc(e.recordId)}</a>` : `<span class="mono">${esc(e.recordId)}</span>`}
      <span class="muted">${esc(describe(e))}</span></li>`).join("") : `<li class="muted">Waiting for changes…</li>`;
  };
  if (lastOverview) draw(lastOverview);
  draw(await sample());
  drawFeed();
  let pending = false;
  listen(() => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; drawFeed(); }); } });
  every(samplePeriod, async () => { try { draw(await sample()); } catch (e) { /* the next sample tries again */ } });
}

// ---- orders -----------------------------------------------------------------------
function orderRow(o, extra = "") {
  return `<tr><td><a class="mono" href="#/orders/${encodeURIComponent(o.locationId)}/${encodeURIComponent(o.id)}">${esc(o.id)}</a></td>
    <td class="hide-s">${esc(when(o.createdAt))}</td><td class="num">${esc(money(o.amount, o.currency))}</td>
    <td>${badge(o.paymentStatus)}</td><td>${badge(o.fulfillmentStatus)}</td><td class="hide-s mono">${esc(o.locationId)}</td>${extra}</tr>`;
}
const orderHead = (extra = "") => `<tr><th scope="col">Order</th><th scope="col" class="hide-s">Created</th><th scope="col" class="num">Amount</th>
  <th scope="col">Payment</th><th scope="col">Fulfillment</th><th scope="col" class="hide-s">Location</th>${extra}</tr>`;

// pager keeps the cursors of the pages seen, so that Previous works
// without the API paging backwards.
function pager(load) {
  const stack = [""];
  return {
    first: () => { stack.length = 1; return load(""); },
    next: c => { stack.push(c); return load(c); },
    prev: () => { if (stack.length > 1) stack.pop(); return load(stack[stack.length - 1]); },
    depth: () => stack.length,
  };
}

async function orders() {
  const f = Object.fromEntries(new URLSearchParams(sessionStorage.getItem("orderFilters") || ""));
  view.innerHTML = `<h1>Orders</h1>
  <form class="filters card" id="of" role="search" aria-label="Search orders">
    <label>Search <input name="q" type="search" placeholder="order id, contact email or name" value="${esc(f.q)}"></label>
    <label>Payment status <select name="paymentStatus">${["", "paid", "unpaid", "partially_paid", "refunded", "partially_refunded"].map(v => `<option value="${v}" ${f.paymentStatus === v ? "selected" : ""}>${v || "any"}</option>`).join("")}</select></label>
    <label>Fulfillment status <select name="fulfillmentStatus">${["", "unfulfilled", "partially_fulfilled", "fulfilled"].map(v => `<option value="${v}" ${f.fulfillmentStatus === v ? "selected" : ""}>${v || "any"}</option>`).join("")}</select></label>
    <label>Created from <input name="createdFrom" type="date" value="${esc(f.createdFrom)}"></label>
    <label>Created before <input name="createdBefore" type="date" value="${esc(f.createdBefore)}"></label>
    <button type="submit">Search</button>
  </form>
  <p id="fresh" hidden><button type="button" class="small" id="fresh-b">New orders: show them</button></p>
  <div class="card table"><table><caption class="muted" id="o-cap">Newest first</caption><thead>${orderHead()}</thead><tbody id="ob"><tr><td colspan="6">Loading…</td></tr></tbody></table>
  <div class="pager"><button type="button" class="small quiet" id="prev">Previous</button><button type="button" class="small quiet" id="next">Next</button></div></div>`;
  const form = document.getElementById("of");
  let next = "";
  const p = pager(async cursor => {
    const filters = Object.fromEntries(new FormData(form));
    const page = await api("/orders" + qs({...filters, limit: 25, cursor}));
    next = page.nextCursor || "";
    document.getElementById("ob").innerHTML = page.items.map(o => orderRow(o)).join("") || `<tr><td colspan="6">No orders match.</td></tr>`;
    document.getElementById("next").disabled = !next;
    document.getElementById("prev").disabled = p.depth() <= 1;
    document.getElementById("fresh").hidden = true;
  });
  form.addEventListener("submit", e => { e.preventDefault(); sessionStorage.setItem("orderFilters", new URLSearchParams(new FormData(form)).toString()); p.first().catch(err => toast(err.message)); });
  document.getElementById("next").addEventListener("click", () => next && p.next(next).catch(err => toast(err.message)));
  document.getElementById("prev").addEventListener("click", () => p.prev().catch(err => toast(err.message)));
  document.getElementById("fresh-b").addEventListener("click", () => p.first().catch(err => toast(err.message)));
  // New orders are announced, not loaded: the list stays where it is.
  listen(e => { if (e.kind === "order.created") document.getElementById("fresh").hidden = false; });
  await p.first();
}

async function order(loc, id) {
  const load = async () => {
    const o = await api(`/orders/${encodeURIComponent(id)}${qs({locationId: loc === "-" ? "" : loc})}`);
    view.innerHTML = `<p><a href="#/orders">← Orders</a></p><h1>Order <span class="mono">${esc(o.id)}</span></h1>
    <div class="grid">
      <section class="card" aria-labelledby="os"><h2 id="os">Summary</h2><dl class="kv">
        <dt>Amount</dt><dd>${esc(money(o.amount, o.currency))}</dd><dt>Status</dt><dd>${badge(o.status)}</dd>
        <dt>Payment</dt><dd>${badge(o.paymentStatus)}</dd><dt>Fulfillment</dt><dd>${badge(o.fulfillmentStatus)}</dd>
        <dt>Rankr</dt><dd>${esc(o.rankrStatus)}</dd><dt>Location</dt><dd class="mono">${esc(o.locationId)}</dd>
        <dt>Created</dt><dd>${esc(when(o.createdAt))}</dd><dt>Updated</dt><dd>${esc(when(o.updatedAt))}</dd>
        <dt>Mode</dt><dd>${o.liveMode ? "live" : "test"}</dd></dl>
        ${o.paymentStatus === "paid" && o.fulfillmentStatus !== "fulfilled" ? `<p><a href="#/queue">Ship it from the fulfillment queue</a></p>` : ""}</section>
      <section class="card" aria-labelledby="oi"><h2 id="oi">Items</h2>${!o.itemsFetched ? `<p class="muted">Not synced from GHL yet.</p>` : `<div class="table"><table>
        <thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Unit price</th></tr></thead><tbody>
        ${(o.items || []).map(i => `<tr><td>${esc(i.name)} <span class="muted">${esc(i.productType || "")}</span></td><td class="num">${i.qty}</td><td class="num">${esc(money(i.unitAmount, o.currency))}</td></tr>`).join("")}</tbody></table></div>`}</section>
      <section class="card" aria-labelledby="op"><h2 id="op">Payments</h2>${(o.transactions || []).length ? `<div class="table"><table>
        <thead><tr><th scope="col">Payment</th><th scope="col">Status</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Refunded</th></tr></thead><tbody>
        ${o.transactions.map(x => `<tr><td class="mono">${esc(x.id)}</td><td>${badge(x.status)}</td><td class="num">${esc(money(x.amount, x.currency))}</td><td class="num">${esc(money(x.amountRefunded, x.currency))}</td></tr>`).join("")}</tbody></table></div>` : `<p class="muted">None.</p>`}</section>
      <section class="card" aria-labelledby="of2"><h2 id="of2">Fulfillments</h2><ul id="fulfillments">${(o.fulfillments || []).map(f => `<li><span class="mono">${esc(f.id)}</span> · ${esc(when(f.createdAt))} ·
        ${(f.trackings || []).map(t => `${esc(t.carrier || "carrier?")} ${esc(masked(t.trackingNumber))}`).join(", ")}</li>`).join("") || `<li class="muted">None.</li>`}</ul></section>
      <section class="card" aria-labelledby="opu"><h2 id="opu">Pushes to GHL</h2><ul id="pushes">${o.pushes.map(p => `<li data-push="${esc(p.id)}"><span class="mono">${esc(p.id)}</span> ${badge(p.state)}
        ${esc(when(p.createdAt))} ${(p.trackings || []).map(t => `${esc(t.carrier || "")} ${esc(masked(t.trackingNumber))}`).join(", ")} ${p.lastError ? `<span class="err">${esc(p.lastError)}</span>` : ""}</li>`).join("") || `<li class="muted">None.</li>`}</ul></section>
      <section class="card" aria-labelledby="on"><h2 id="on">Notices</h2><ul>${o.notices.map(n => `<li><span class="mono">${esc(n.id)}</span> ${esc(n.kind)} ${badge(n.state)}</li>`).join("") || `<li class="muted">None.</li>`}</ul></section>
    </div>
    <section class="card" aria-labelledby="oe"><h2 id="oe">Events</h2><ul class="feed">${o.events.map(e => `<li><span class="muted">${esc(when(e.at))}</span> <strong>${esc(e.kind)}</strong> <span class="mono">${esc(e.recordId)}</span> <span class="muted">${esc(describe(e))}</span></li>`).join("") || `<li class="muted">None.</li>`}</ul></section>`;
  };
  await load();
  // Anything about this order reloads its page, at most once a second.
  let timer = null;
  listen(e => { if ((e.recordId === id || e.data?.orderId === id) && !timer) timer = setTimeout(() => { timer = null; load().catch(() => {}); }, 1000); });
  onLeave(() => clearTimeout(timer));
  // A push is sent in the background: its state moves without an event
  // of the order's until GHL's fulfillment syncs.
  every(3000, () => { if (view.querySelector("#pushes .badge.warn")) load().catch(() => {}); });
}

// ---- fulfillment queue -------------------------------------------------------------------
async function queue() {
  view.innerHTML = `<h1>Fulfillment queue</h1><p class="muted">Paid orders not yet shipped, oldest first.</p>
  <div class="card table"><table><thead>${orderHead('<th scope="col">Ship</th>')}</thead><tbody id="qb"><tr><td colspan="7">Loading…</td></tr></tbody></table>
  <div class="pager"><button type="button" class="small quiet" id="prev">Previous</button><button type="button" class="small quiet" id="next">Next</button></div></div>
  <section class="card" id="ship" hidden aria-labelledby="ship-h"><h2 id="ship-h">Push a fulfillment</h2>
    <form class="row" id="pf">
      <label>Order <input name="orderId" id="pf-order" readonly></label>
      <input type="hidden" name="locationId" id="pf-loc">
      <label>Carrier <input name="carrier" required placeholder="UPS"></label>
      <label>Tracking number <input name="trackingNumber" required autocomplete="off"></label>
      <label>Tracking URL <input name="url" type="url" placeholder="https://…"></label>
      <label class="inline"><input type="checkbox" name="notifyCustomer"> Notify the customer</label>
      <button type="submit">Push to GHL</button>
    </form><p id="pf-out" role="status"></p></section>`;
  let next = "";
  const p = pager(async cursor => {
    const page = await api("/orders" + qs({toFulfill: true, oldest: true, limit: 25, cursor}));
    next = page.nextCursor || "";
    document.getElementById("qb").innerHTML = page.items.map(o => orderRow(o,
      `<td><button type="button" class="small" data-ship="${esc(o.id)}" data-loc="${esc(o.locationId)}" aria-label="Ship order ${esc(o.id)}">Ship…</button></td>`)).join("")
      || `<tr><td colspan="7">Nothing to ship.</td></tr>`;
    document.getElementById("next").disabled = !next;
    document.getElementById("prev").disabled = p.depth() <= 1;
  });
  document.getElementById("next").addEventListener("click", () => next && p.next(next).catch(err => toast(err.message)));
  document.getElementById("prev").addEventListener("click", () => p.prev().catch(err => toast(err.message)));
  document.getElementById("qb").addEventListener("click", e => {
    const b = e.target.closest("button[data-ship]");
    if (!b) return;
    document.getElementById("ship").hidden = false;
    document.getElementById("pf-order").value = b.dataset.ship;
    document.getElementById("pf-loc").value = b.dataset.loc;
    document.getElementById("pf-out").textContent = "";
    document.querySelector('#pf [name="carrier"]').focus();
  });
  document.getElementById("pf").addEventListener("submit", async e => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target)), out = document.getElementById("pf-out");
    const btn = e.target.querySelector("button"); btn.disabled = true;
    try {
      const push = await api("/pushes", {method: "POST", body: {locationId: f.locationId, orderId: f.orderId, notifyCustomer: f.notifyCustomer === "on",
        trackings: [{trackingNumber: f.trackingNumber, carrier: f.carrier, ...(f.url ? {url: f.url} : {})}]}});
      out.innerHTML = `Push <span class="mono">${esc(push.id)}</span> ${badge(push.state)} recorded: it is sent to GHL in the background.
        <a href="#/orders/${encodeURIComponent(f.locationId)}/${encodeURIComponent(f.orderId)}">See the order</a>`;
    } catch (err) { out.innerHTML = `<span class="err">${esc(err.message)}</span>`; }
    btn.disabled = false;
  });
  await p.first();
}

// ---- reconciliation exceptions ----------------------------------------------------------
async function exceptions() {
  view.innerHTML = `<h1>Reconciliation exceptions</h1><div class="card table"><table><thead><tr><th scope="col">Kind</th><th scope="col">Record</th>
    <th scope="col" class="num">Amount</th><th scope="col">What is wrong</th><th scope="col">What to do</th><th scope="col" class="hide-s">Opened</th></tr></thead>
    <tbody id="eb"><tr><td colspan="6">Loading…</td></tr></tbody></table>
    <div class="pager"><button type="button" class="small quiet" id="prev">Previous</button><button type="button" class="small quiet" id="next">Next</button></div></div>`;
  let next = "";
  const p = pager(async cursor => {
    const page = await api("/reconciliation/exceptions" + qs({limit: 25, cursor}));
    next = page.nextCursor || "";
    document.getElementById("eb").innerHTML = page.items.map(x => `<tr><td>${badge(x.kind, [], [])}</td>
      <td>${x.recordType === "order" ? `<a class="mono" href="#/orders/${encodeURIComponent(x.locationId || "-")}/${encodeURIComponent(x.recordId)}">order ${esc(x.recordId)}</a>` : `<span class="mono">${esc(x.recordType)} ${esc(x.recordId)}</span>`}
      ${x.entityId ? `<div class="muted mono">for ${esc(x.entityType)} ${esc(x.entityId)}</div>` : ""}</td>
      <td class="num">${esc(money(x.amount, x.detail?.currency || ""))}</td><td>${esc(x.message)}
      ${x.detail ? `<dl class="kv">${Object.entries(x.detail).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</dd>`).join("")}</dl>` : ""}</td>
      <td>${esc(x.fix)}</td><td class="hide-s">${esc(when(x.openedAt))}</td></tr>`).join("") || `<tr><td colspan="6">No open exceptions.</td></tr>`;
    document.getElementById("next").disabled = !next;
    document.getElementById("prev").disabled = p.depth() <= 1;
  });
  document.getElementById("next").addEventListener("click", () => next && p.next(next).catch(err => toast(err.message)));
  document.getElementById("prev").addEventListener("click", () => p.prev().catch(err => toast(err.message)));
  await p.first();
}

// ---- outbound deliveries ------------------------------------------------------------------
async function waitJob(job) {
  for (let i = 0; i < 60 && !["succeeded", "failed", "cancelled"].includes(job.state); i++) {
    await new Promise(r => setTimeout(r, 500));
    job = await api("/jobs/" + encodeURIComponent(job.id));
  }
  return job;
}
async function deliveries() {
  const eps = await api("/webhooks/endpoints");
  view.innerHTML = `<h1>Outbound deliveries</h1>
  <section class="card" aria-labelledby="eh"><h2 id="eh">Endpoints</h2><ul>${eps.items.map(e => `<li><span class="mono">${esc(e.id)}</span> ${esc(e.url)}
    ${badge(e.enabled === false ? "disabled" : "enabled", ["enabled"], ["disabled"])} <span class="muted">${esc((e.events || []).join(", "))}</span></li>`).join("") || `<li class="muted">No endpoints: add one with <code>rankr webhooks add</code> or POST /api/v1/webhooks/endpoints.</li>`}</ul></section>
  <form class="filters card" id="df" aria-label="Filter deliveries">
    <label>State <select name="state">${["dead", "", "pending", "sending", "delivered"].map(v => `<option value="${v}">${v || "any"}</option>`).join("")}</select></label>
    <label>Endpoint <select name="endpointId"><option value="">any</option>${eps.items.map(e => `<option value="${esc(e.id)}">${esc(e.id)}</option>`).join("")}</select></label>
    <button type="submit">Show</button>
  </form>
  <div class="card table"><table><thead><tr><th scope="col">Delivery</th><th scope="col">Event</th><th scope="col">State</th><th scope="col" class="num">Attempts</th>
    <th scope="col" class="hide-s">Last error</th><th scope="col">Replay</th></tr></thead><tbody id="db"><tr><td colspan="6">Loading…</td></tr></tbody></table>
    <div class="pager"><button type="button" class="small quiet" id="prev">Previous</button><button type="button" class="small quiet" id="next">Next</button></div></div>`;
  const form = document.getElementById("df");
  let next = "";
  const p = pager(async cursor => {
    const page = await api("/webhooks/deliveries" + qs({...Object.fromEntries(new FormData(form)), limit: 25, cursor}));
    next = page.nextCursor || "";
    document.getElementById("db").innerHTML = page.items.map(d => `<tr data-delivery="${esc(d.id)}"><td class="mono">${esc(d.id)}</td>
      <td>${esc(d.eventKind || d.kind || d.eventType || "")} <span class="muted mono">${esc(d.eventSeq ?? "")}</span></td><td>${badge(d.state)}</td><td class="num">${esc(d.attempts)}</td>
      <td class="hide-s err">${esc(d.lastError || "")}</td>
      <td>${d.state === "dead" || d.state === "delivered" ? `<button type="button" class="small" data-replay="${esc(d.id)}" aria-label="Replay delivery ${esc(d.id)}">Replay</button>` : ""}</td></tr>`).join("")
      || `<tr><td colspan="6">No deliveries.</td></tr>`;
    document.getElementById("next").disabled = !next;
    document.getElementById("prev").disabled = p.depth() <= 1;
  });
  form.addEventListener("submit", e => { e.preventDefault(); p.first().catch(err => toast(err.message)); });
  document.getElementById("next").addEventListener("click", () => next && p.next(next).catch(err => toast(err.message)));
  document.getElementById("prev").addEventListener("click", () => p.prev().catch(err => toast(err.message)));
  document.getElementById("db").addEventListener("click", async e => {
    const b = e.target.closest("button[data-replay]");
    if (!b) return;
    b.disabled = true; b.textContent = "Replaying…";
    try {
      const job = await waitJob(await api("/webhooks/replays", {method: "POST", body: {ids: [b.dataset.replay]}}));
      toast(job.state === "succeeded" ? `Delivery ${b.dataset.replay} queued again.` : `The replay ${job.state}: ${(job.errors || []).join("; ")}`);
      b.textContent = job.state === "succeeded" ? "Replayed" : "Replay";
      b.closest("tr").dataset.replayed = job.state;
    } catch (err) { toast(err.message); b.disabled = false; b.textContent = "Replay"; }
  });
  await p.first();
}

// ---- connections ---------------------------------------------------------------------------
async function connections() {
  const load = async () => {
    const list = await api("/connections");
    view.innerHTML = `<h1>Connections</h1><div class="grid">${list.items.map(s => {
      const c = s.connection, oauth = c.credentialKind === "oauth";
      return `<section class="card" aria-label="Connection ${esc(c.name || c.locationId)}"><h2>${esc(c.name || c.locationId)} ${badge(c.state)}</h2><dl class="kv">
        <dt>Location</dt><dd class="mono">${esc(c.locationId)}</dd><dt>Credential</dt><dd>${oauth ? "OAuth install" : "Private Integration Token"}</dd>
        <dt>Token health</dt><dd>${c.state === "active" && !c.lastError ? "working" : esc(c.stateMessage || c.lastError || c.state)}</dd>
        <dt>Last sync</dt><dd>${esc(ago(c.lastSyncAt))}</dd><dt>GHL calls</dt><dd>${s.apiCalls}</dd></dl>
        <form class="row" data-loc="${esc(c.locationId)}">${can("connections:write") ? (c.state === "paused"
          ? `<button type="submit" name="do" value="resume">Resume sync</button>` : `<button type="submit" name="do" value="pause" class="quiet">Pause sync</button>`) : ""}
          ${oauth ? `<a href="/oauth/ghl/start">Reauthorize (install the app again)</a>` : `<span class="muted">Replace the token: <code>rankr connect</code></span>`}</form></section>`;
    }).join("") || `<p>No connections.</p>`}</div>`;
  };
  view.addEventListener("submit", async e => {
    const f = e.target.closest("form[data-loc]");
    if (!f) return;
    e.preventDefault();
    const what = e.submitter?.value;
    try { await api(`/connections/${encodeURIComponent(f.dataset.loc)}/${what}`, {method: "POST"}); toast(`${f.dataset.loc}: ${what}d.`); await load(); }
    catch (err) { toast(err.message); }
  }, {signal: leaveSignal()});
  await load();
}
function leaveSignal() { const c = new AbortController(); onLeave(() => c.abort()); return c.signal; }

// ---- audit -----------------------------------------------------------------------------------
async function audit() {
  if (!can("audit:read")) { view.innerHTML = `<h1>Audit log</h1><p>This key may not read the audit log (it needs audit:read).</p>`; return; }
  const page = await api("/audit" + qs({newest: true, limit: 100}));
  const items = page.items || page.records || [];
  view.innerHTML = `<h1>Audit log</h1><p class="muted">Newest first, the last 100 records.</p><div class="card table"><table><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
    <th scope="col">Target</th><th scope="col">Outcome</th></tr></thead><tbody>${items.map(a => `<tr><td>${esc(when(a.at))}</td>
    <td>${esc(a.actor?.type)} <span class="mono">${esc(a.actor?.id)}</span></td><td>${esc(a.action)}</td>
    <td class="mono">${esc(a.target?.type)} ${esc(a.target?.id)}</td><td>${badge(a.outcome, ["success"], ["failure", "denied"])}</td></tr>`).join("") || `<tr><td colspan="5">Empty.</td></tr>`}</tbody></table></div>`;
}

// ---- automations, their runs, the catalog (automations.js) ---------------------------------
Object.assign(pages, automationPages({view, api, esc, when, qs, toast, every, onLeave, pager, badge, reload: () => route(),
  can: s => can(s)}));

// The skip link moves the focus without touching the route in the hash.
document.querySelector(".skip").addEventListener("click", e => { e.preventDefault(); view.focus(); });

// ---- start -------------------------------------------------------------------------------------
document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/session", {method: "DELETE", credentials: "same-origin"}); location.replace("/");
});
me = await api("/ui/me");
document.getElementById("nav-audit").hidden = !can("audit:read");
for (const [id, scope] of [["nav-automations", "automations:read"], ["nav-runs", "automations:read"], ["nav-catalog", "catalog:read"]]) document.getElementById(id).hidden = !can(scope);
connect();
addEventListener("hashchange", () => { route().then(() => view.focus({preventScroll: true})); });
if (!location.hash) history.replaceState(null, "", "#/overview");
route();
