// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core) against a running `rankr demo`: sign in with a key,
// watch an order count move while the sandbox sells, open an order, push a
// fulfillment from the queue and see it on the order, replay a dead
// delivery; see the automation pages empty, apply an automation through
// the API and watch its runs arrive, open one step by step, switch it off
// and on, read its file and versions, search the catalog; at 1280x800 and 375x812, with no console error or failed
// request, every control labelled, every text in contrast and the keyboard
// usable. scripts/browser starts the demo and runs this with BASE_URL,
// RANKR_KEY, DEAD_URL and ARTIFACTS set.
import {chromium} from "playwright-core";
import {mkdirSync, copyFileSync, mkdtempSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";

const base = process.env.BASE_URL, key = process.env.RANKR_KEY, deadURL = process.env.DEAD_URL;
const artifacts = process.env.ARTIFACTS || mkdtempSync(join(tmpdir(), "rankr-browser-"));
const docsShot = process.env.DOCS_SHOT || "";
if (!base || !key || !deadURL) { console.error("set BASE_URL, RANKR_KEY and DEAD_URL"); process.exit(2); }
mkdirSync(artifacts, {recursive: true});

const failures = [];
const fail = msg => { failures.push(msg); console.error("FAIL " + msg); };
const step = msg => console.log("· " + msg);

async function api(path, init = {}) {
  const r = await fetch(base + "/api/v1" + path, {...init, headers: {Authorization: "Bearer " + key, "Content-Type": "application/json", ...(init.headers || {})}});
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${init.method || "GET"} ${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}
async function until(what, fn, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => false);
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise(r => setTimeout(r, 250));
  }
}

// A dead delivery to replay: an endpoint on a closed port, one attempt.
step("adding an outbound endpoint at a closed port");
const ep = await api("/webhooks/endpoints", {method: "POST", body: JSON.stringify({url: deadURL, events: ["order.*"], description: "browser test: dies"})});
await until("a dead delivery", async () => (await api(`/webhooks/deliveries?state=dead&endpointId=${ep.endpoint.id}&limit=1`)).items.length > 0, 90000);

// A fresh user-data-dir: playwright passes it to chromium as
// --user-data-dir.
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "rankr-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

async function run(width, height, full) {
  const tag = `${width}x${height}`;
  const page = await browser.newPage();
  await page.setViewportSize({width, height});
  let signedIn = false;
  page.on("console", m => {
    // Before signing in, the page itself answers 401 with the sign-in form.
    if (m.type() === "error" && !(!signedIn && /401/.test(m.text()))) fail(`${tag} console: ${m.text()}`);
  });
  page.on("pageerror", e => fail(`${tag} page error: ${e.message}`));
  page.on("requestfailed", r => {
    // A stream or fetch cut by leaving the page is not a failure.
    if (r.failure()?.errorText === "net::ERR_ABORTED") return;
    fail(`${tag} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", r => {
    if (r.status() >= 400 && !(!signedIn && r.status() === 401 && new URL(r.url()).pathname === "/")) fail(`${tag} ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  const shot = async name => { const p = join(artifacts, `${tag}-${name}.png`); await page.screenshot({path: p, fullPage: false}); return p; };
  const labelled = async name => {
    const bad = await page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll("input, select, textarea")) {
        if (el.type === "hidden") continue;
        if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) out.push(el.outerHTML.slice(0, 80));
      }
      for (const b of document.querySelectorAll("button, a[href]")) if (!(b.textContent.trim() || b.getAttribute("aria-label"))) out.push(b.outerHTML.slice(0, 80));
      return out;
    });
    for (const b of bad) fail(`${tag} ${name}: a control without a label: ${b}`);
    // Contrast (WCAG 2.x): every visible text against the first opaque
    // background behind it, at least 4.5:1 (3:1 for large text); disabled
    // controls are exempt, as WCAG has them.
    const low = await page.evaluate(() => {
      const rgb = c => { const m = c.match(/[\d.]+/g) || []; return {r: +m[0], g: +m[1], b: +m[2], a: m.length > 3 ? +m[3] : 1}; };
      const lum = ({r, g, b}) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const behind = el => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.a >= 0.99) return c;
        }
        return {r: 255, g: 255, b: 255, a: 1};
      };
      const out = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const seen = new Set();
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent.trim() || !el || seen.has(el)) continue;
        seen.add(el);
        const st = getComputedStyle(el), box = el.getBoundingClientRect();
        if (st.visibility === "hidden" || box.width === 0 || box.height === 0 || el.closest("[hidden], svg, :disabled, [aria-disabled=true]")) continue;
        const fg = rgb(st.color), bg = behind(el);
        const a = fg.a * +st.opacity;
        const mix = {r: fg.r * a + bg.r * (1 - a), g: fg.g * a + bg.g * (1 - a), b: fg.b * a + bg.b * (1 - a)};
        const [hi, lo] = [lum(mix), lum(bg)].sort((x, y) => y - x);
        const ratio = (hi + 0.05) / (lo + 0.05), size = parseFloat(st.fontSize), bold = +st.fontWeight >= 700;
        const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
        if (ratio < need) out.push(`${ratio.toFixed(2)}:1 for ${JSON.stringify(n.textContent.trim().slice(0, 40))} (${st.color} on rgb(${bg.r}, ${bg.g}, ${bg.b}))`);
      }
      return out.slice(0, 10);
    });
    for (const l of low) fail(`${tag} ${name}: contrast ${l}`);
    if (width < 500) {
      const over = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
      if (over > 1) fail(`${tag} ${name}: the page is ${over} px wider than the screen`);
    }
  };
  const go = async (hash, ready) => {
    await page.evaluate(h => { location.hash = h; }, hash);
    await page.waitForSelector(ready, {timeout: 30000});
  };

  step(`${tag}: signing in`);
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  signedIn = true;
  await page.getByRole("button", {name: "Sign in"}).click();
  await page.waitForSelector("[data-location]", {timeout: 30000});
  await page.waitForSelector("#live.on", {timeout: 15000});

  step(`${tag}: watching the order count move`);
  const count = () => page.$$eval('[data-location] [data-k="orders"]', els => els.reduce((n, e) => n + Number(e.textContent), 0));
  const before = await count();
  await until("the order count to move", async () => (await count()) !== before, 60000);
  await page.waitForSelector("#feed li strong", {timeout: 30000});
  await labelled("overview");
  const ov = await shot("overview");
  if (full && docsShot) copyFileSync(ov, docsShot);

  step(`${tag}: keyboard`);
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  if (skip !== "Skip to content") fail(`${tag}: the first Tab reaches ${JSON.stringify(skip)}, not the skip link`);
  let reached = false;
  for (let i = 0; i < 8 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.dataset?.page === "orders");
  }
  if (!reached) fail(`${tag}: Tab does not reach the Orders link`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (outline === "none") fail(`${tag}: the focused link shows no focus`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#ob a.mono", {timeout: 30000});
  if (!(await page.evaluate(() => location.hash === "#/orders"))) fail(`${tag}: Enter on Orders did not open it`);

  step(`${tag}: orders, search, an order`);
  await labelled("orders");
  await page.getByLabel("Payment status").selectOption("paid");
  await page.getByRole("button", {name: "Search"}).click();
  await page.waitForSelector("#ob a.mono", {timeout: 30000});
  await shot("orders");
  await page.click("#ob a.mono");
  await page.waitForSelector("h1 .mono", {timeout: 30000});
  await labelled("order");
  await shot("order");

  if (full) {
    step(`${tag}: pushing a fulfillment from the queue`);
    await go("#/queue", "#qb button[data-ship]");
    await labelled("queue");
    // An order with a physical item not shipped yet (a digital-only order
    // has nothing to push: the API answers 409).
    const q = await api("/orders?toFulfill=true&oldest=true&limit=25");
    let orderId = "";
    for (const o of q.items) {
      const d = await api(`/orders/${encodeURIComponent(o.id)}?locationId=${encodeURIComponent(o.locationId)}`);
      if (d.itemsFetched && (d.items || []).some(i => /^physical$/i.test(i.productType || "")) && !d.pushes.length && !(d.fulfillments || []).length) { orderId = o.id; break; }
    }
    if (!orderId) throw new Error("no order in the queue's first page has a physical item to ship");
    const ship = page.locator(`#qb button[data-ship="${orderId}"]`);
    await ship.click();
    await page.getByLabel("Carrier").fill("UPS");
    await page.getByLabel("Tracking number").fill("1ZBROWSER" + Date.now());
    await shot("queue");
    await page.getByRole("button", {name: "Push to GHL"}).click();
    await page.waitForSelector("#pf-out a", {timeout: 30000});
    await page.click("#pf-out a");
    await page.waitForSelector(`#pushes li[data-push]`, {timeout: 30000});
    const shown = await page.textContent("h1 .mono");
    if (shown !== orderId) fail(`${tag}: the push led to order ${shown}, not ${orderId}`);
    await shot("order-pushed");

    step(`${tag}: replaying a dead delivery`);
    await go("#/deliveries", "#db button[data-replay]");
    await labelled("deliveries");
    await page.locator("#db button[data-replay]").first().click();
    await page.waitForSelector('#db tr[data-replayed="succeeded"]', {timeout: 60000});
    await shot("deliveries");
  } else {
    await go("#/queue", "#qb tr");
    await labelled("queue");
    await shot("queue");
    await go("#/deliveries", "#db tr");
    await labelled("deliveries");
    await shot("deliveries");
  }
  if (full) await automationsFull(page, tag, shot, labelled, go);
  else {
    for (const [hash, ready, name] of [["#/automations", '#ab tr[data-automation="browser-test"]', "automations"], ["#/runs", "#rb tr[data-run]", "runs"],
      ["#/automations/browser-test", "#a-runs tr[data-run]", "automation"], ["#/catalog", "#cb tr", "catalog"]]) {
      await go(hash, ready);
      await labelled(name);
      await shot(name);
    }
    await go("#/runs", "#rb tr[data-run]");
    await page.click("#rb tr[data-run] a[href^='#/runs/']");
    await page.waitForSelector('li[data-step="order"]', {timeout: 30000});
    await page.locator('li[data-step="order"] summary', {hasText: /^Output$/}).first().click();
    await labelled("run");
    await shot("run");
  }
  for (const [hash, ready, name] of [["#/exceptions", "#eb tr", "exceptions"], ["#/connections", "h1", "connections"], ["#/audit", "h1", "audit"]]) {
    await go(hash, ready);
    await page.waitForTimeout(300);
    await labelled(name);
    await shot(name);
  }
  // Signing out ends the session: the next run signs in afresh.
  step(`${tag}: signing out`);
  signedIn = false;
  await page.getByRole("button", {name: "Sign out"}).click();
  await page.waitForSelector("#key", {timeout: 30000});
  await page.close();
}

// The automation the test applies: it reads each new order, so that the
// sandbox's sales give it runs.
const automationFile = `apiVersion: rankr.dev/v1
kind: Automation
id: browser-test
description: read each new order
trigger:
  key: derived.order.created@1
steps:
  - id: order
    action: rankr.order.get@1
    with:
      orderId: "\${{ trigger.order.id }}"
`;

// automationsFull walks the automation pages: empty first (the demo has
// none), then with one applied through the API.
async function automationsFull(page, tag, shot, labelled, go) {
  const text = sel => page.textContent(sel).then(t => t.replace(/\s+/g, " ").trim());
  const before = await api("/automations");
  if (!before.items.length) {
    step(`${tag}: the automation pages before any automation`);
    await go("#/automations", "#ab td.empty");
    if (!/No automations yet/.test(await text("#ab"))) fail(`${tag}: automations, empty: ${await text("#ab")}`);
    await labelled("automations-empty");
    await shot("automations-empty");
    await go("#/runs", "#rb td.empty");
    if (!/No runs yet/.test(await text("#rb"))) fail(`${tag}: runs, empty: ${await text("#rb")}`);
    await labelled("runs-empty");
    await shot("runs-empty");
  } else await go("#/runs", "#rb tr");

  step(`${tag}: applying an automation; its runs appear on the open runs page`);
  await api("/automations", {method: "POST", body: JSON.stringify({source: automationFile, note: "browser test"})});
  // The page polls: no reload, no navigation.
  await page.waitForSelector('#rb tr[data-run] a[href^="#/automations/browser-test"]', {timeout: 60000});
  await page.getByLabel(/^Status/).selectOption("succeeded");
  await page.getByLabel(/^Automation/).selectOption("browser-test");
  await page.getByRole("button", {name: "Show", exact: true}).click();
  await page.waitForFunction(() => location.hash.includes("automation=browser-test") && document.querySelector("#rb tr[data-run]"), null, {timeout: 30000});
  await labelled("runs");
  await shot("runs");

  step(`${tag}: a run step by step`);
  await page.click('#rb tr[data-run] a[href^="#/runs/"]');
  await page.waitForSelector('li[data-step="order"]', {timeout: 30000});
  if (!/succeeded/.test(await text("#r-status"))) fail(`${tag}: the run is ${await text("#r-status")}`);
  const input = page.locator('li[data-step="order"] details').filter({has: page.locator("summary", {hasText: /^Input$/})}).first();
  if (await input.locator("pre").isVisible()) fail(`${tag}: a step's input is not folded`);
  await input.locator("summary").focus();
  await page.keyboard.press("Enter");
  const shownInput = await input.locator("pre").textContent();
  if (!/"orderId":/.test(shownInput)) fail(`${tag}: the step's input shows ${JSON.stringify(shownInput.slice(0, 80))}`);
  await page.locator("section:has(#rp-h) summary").click();
  await labelled("run");
  await shot("run");

  step(`${tag}: the automation, switched off and on`);
  await go("#/automations", '#ab tr[data-automation="browser-test"]');
  const row = '#ab tr[data-automation="browser-test"]';
  await page.getByRole("button", {name: "Disable automation browser-test"}).click();
  await page.waitForFunction(r => /disabled/.test(document.querySelector(r)?.textContent || ""), row, {timeout: 30000});
  if (!/disabled/.test(await text("#a-out"))) fail(`${tag}: switching off says ${await text("#a-out")}`);
  await page.getByRole("button", {name: "Enable automation browser-test"}).click();
  await page.waitForFunction(r => /enabled/.test(document.querySelector(r)?.textContent || ""), row, {timeout: 30000});
  await labelled("automations");
  await shot("automations");
  await page.click(`${row} a`);
  await page.waitForSelector("#a-source", {timeout: 30000});
  if (!/id: browser-test/.test(await text("#a-source"))) fail(`${tag}: the automation's file shows ${await text("#a-source")}`);
  await page.waitForSelector("#a-runs tr[data-run]", {timeout: 30000});
  if (!/browser test/.test(await text("#versions"))) fail(`${tag}: the versions show ${await text("#versions")}`);
  await page.click('#versions a[data-version="1"]');
  await page.waitForFunction(() => location.hash === "#/automations/browser-test/1" && /version 1/.test(document.getElementById("af-h")?.textContent || ""), null, {timeout: 30000});
  await labelled("automation");
  await shot("automation");

  step(`${tag}: the catalog`);
  await go("#/catalog", "#cb tr");
  const all = await page.locator("#cb tr").count();
  await page.locator('#cf input[name="q"]').fill("rankr.order.get");
  await page.waitForFunction(n => document.querySelectorAll("#cb tr").length < n, all, {timeout: 10000});
  if (!/ of /.test(await text("#c-n"))) fail(`${tag}: the catalog's count says ${await text("#c-n")}`);
  await labelled("catalog");
  await shot("catalog");
  await page.getByRole("link", {name: "rankr.order.get@1", exact: true}).click();
  await page.waitForSelector("#c-sample", {timeout: 30000});
  if (!(await text("#c-summary"))) fail(`${tag}: the catalog item has no summary`);
  await labelled("catalog-item");
  await shot("catalog-item");
  await page.evaluate(() => sessionStorage.removeItem("catalogFilters"));
}

// refused signs in with an operator key bound to one location: it may
// switch automations, but not browser-test, which runs for every location,
// so the API answers 403 and the page must say so and stay usable.
async function refused() {
  step("a bound key: switching an automation for every location is refused, visibly");
  const conns = await api("/connections");
  const loc = conns.items[0].connection.locationId;
  const k = await api("/keys", {method: "POST", body: JSON.stringify({name: "browser test: bound", role: "operator", locations: [loc], expiresIn: "1h", test: true})});
  const page = await browser.newPage();
  await page.setViewportSize({width: 1280, height: 800});
  let signedIn = false;
  const toggle = /\/api\/v1\/automations\/browser-test\/disable$/;
  page.on("console", m => { if (m.type() === "error" && !/\b(401|403)\b/.test(m.text())) fail(`bound console: ${m.text()}`); });
  page.on("pageerror", e => fail(`bound page error: ${e.message}`));
  page.on("response", r => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !(!signedIn && r.status() === 401 && u.pathname === "/") && !(r.status() === 403 && toggle.test(u.pathname))) fail(`bound ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(k.token);
  signedIn = true;
  await page.getByRole("button", {name: "Sign in"}).click();
  await page.waitForSelector("[data-location]", {timeout: 30000});
  await page.evaluate(() => { location.hash = "#/automations"; });
  const b = page.getByRole("button", {name: "Disable automation browser-test"});
  await b.click();
  await page.waitForSelector("#a-out.err", {timeout: 30000});
  const said = (await page.textContent("#a-out")).trim();
  if (!/may not/.test(said)) fail(`bound: the refusal says ${JSON.stringify(said)}`);
  if (await b.isDisabled()) fail("bound: the switch stays disabled after the refusal");
  if (!/enabled/.test(await page.textContent('#ab tr[data-automation="browser-test"]'))) fail("bound: the automation looks switched off");
  await page.screenshot({path: join(artifacts, "1280x800-automations-refused.png")});
  signedIn = false;
  await page.getByRole("button", {name: "Sign out"}).click();
  await page.waitForSelector("#key", {timeout: 30000});
  await page.close();
}

try {
  await run(1280, 800, true);
  await run(375, 812, false);
  await refused();
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
console.log(`screenshots in ${artifacts}`);
if (failures.length) { console.error(`${failures.length} failure(s)`); process.exit(1); }
console.log("dashboard: ok");
