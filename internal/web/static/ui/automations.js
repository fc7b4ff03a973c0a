// The dashboard's automation pages: the automations (their live file,
// versions and recent runs, switched on and off), their runs step by step
// (retried when failed or paused), and the catalog of actions and
// triggers they are made of. app.js routes to them and lends its helpers
// (ui); everything goes through the API. Runs move without an event of
// the change feed, so the pages that show them poll one bounded page
// while shown, and not while the tab is hidden.

const statuses = ["queued", "running", "succeeded", "failed", "skipped", "paused", "canceled"];
const pollMs = 4000, runsPage = 25;

export function pages(ui) {
  const {view, api, esc, when, qs, toast, every, onLeave, can, pager} = ui;
  const runBadge = s => ui.badge(s, ["succeeded"], ["failed", "canceled"]);
  const onOff = on => ui.badge(on ? "enabled" : "disabled", ["enabled"], []);
  const json = v => esc(JSON.stringify(v, null, 2));
  // A document shown folded: its summary is a real button for the
  // keyboard and the screen reader, its text pretty-printed.
  const fold = (title, v, open = false) => v === undefined || v === null ? "" :
    `<details class="json"${open ? " open" : ""}><summary>${esc(title)}</summary><pre class="code" tabindex="0">${json(v)}</pre></details>`;
  // A 403 is said where the button is: the key has automations:write (or
  // the button would not be there) but not over every location the
  // automation runs for, or its scope changed since the page loaded.
  const refused = (err, what) => err.status === 403
    ? `This key may not ${what}: ${err.message || "forbidden"}.` : err.message;

  // poll calls f every ms while the page is shown and the tab visible,
  // and once when the tab comes back; a call never overlaps the last.
  function poll(ms, f) {
    let busy = false;
    const tick = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try { await f(); } catch (e) { /* the next tick tries again */ } finally { busy = false; }
    };
    every(ms, tick);
    const back = () => { if (!document.hidden) tick(); };
    document.addEventListener("visibilitychange", back);
    onLeave(() => document.removeEventListener("visibilitychange", back));
  }
  // redraw replaces el's content only when sig changed, and keeps the
  // focus on the control of the same data-key, so that a refresh never
  // moves the keyboard user.
  function redraw(el, sig, html) {
    if (el.dataset.sig === sig) return;
    const focused = el.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    el.innerHTML = html; el.dataset.sig = sig;
    if (focused) el.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  const runHead = `<tr><th scope="col">Run</th><th scope="col">Automation</th><th scope="col">Status</th>
    <th scope="col" class="hide-s">Location</th><th scope="col" class="hide-s">Trigger</th><th scope="col">Created</th><th scope="col" class="num">Attempts</th></tr>`;
  const runRow = r => `<tr data-run="${esc(r.id)}"><td><a class="mono" data-key="run-${esc(r.id)}" href="#/runs/${encodeURIComponent(r.id)}" aria-label="Run ${esc(r.id)}">${esc(r.id)}</a></td>
    <td><a class="mono" data-key="auto-${esc(r.id)}" href="#/automations/${encodeURIComponent(r.automationId)}">${esc(r.automationId)}</a> <span class="muted">v${esc(r.version)}</span></td>
    <td>${runBadge(r.status)}${r.status === "skipped" && r.reason ? `<div class="muted">${esc(r.reason)}</div>` : ""}</td>
    <td class="hide-s mono">${esc(r.locationId)}</td><td class="hide-s mono">${esc(r.triggerKey)}</td>
    <td>${esc(stamp(r.createdAt))}</td><td class="num">${esc(r.attempts)}</td></tr>`;
  // stamp is a time of today by its clock time, an older one with its
  // date: a polled list keeps its rows as they were drawn, so no "s ago".
  const stamp = t => { const d = new Date(t); return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString(); };
  const runSig = items => JSON.stringify(items.map(r => [r.id, r.status, r.attempts, r.reason]));
  const noRead = title => { view.innerHTML = `<h1>${esc(title)}</h1><p>This key may not read automations (it needs automations:read).</p>`; };

  // toggle switches an automation on or off from a button carrying its id
  // and state, says the outcome in out, and calls done after a change.
  async function toggle(b, out, done) {
    const id = b.dataset.toggle, on = b.dataset.on === "true", what = on ? "disable" : "enable";
    b.disabled = true;
    try {
      const a = await api(`/automations/${encodeURIComponent(id)}/${what}`, {method: "POST"});
      out.className = ""; out.textContent = `${id}: ${a.enabled ? "enabled" : "disabled"}.`;
      await done();
    } catch (err) {
      out.className = "err"; out.textContent = refused(err, `switch automations ${on ? "off" : "on"}`);
      b.disabled = false;
    }
  }
  const toggleButton = a => can("automations:write")
    ? `<button type="button" class="small${a.enabled ? " quiet" : ""}" data-toggle="${esc(a.id)}" data-key="toggle-${esc(a.id)}" data-on="${a.enabled}"
        aria-label="${a.enabled ? "Disable" : "Enable"} automation ${esc(a.id)}">${a.enabled ? "Disable" : "Enable"}</button>` : "";

  // ---- automations ------------------------------------------------------
  async function pausesBanner() {
    const el = document.getElementById("pauses");
    const p = await api("/automation-pauses");
    if (!el) return;
    redraw(el, JSON.stringify(p.items), !p.items.length ? "" : `<section class="banner" aria-labelledby="pz-h"><h2 id="pz-h">Paused locations</h2>
      <p>GHL refused these locations' credentials: their automations wait until they are reconnected (<code>rankr automations resume</code> resumes one by hand).</p>
      <ul>${p.items.map(x => `<li><span class="mono">${esc(x.locationId)}</span>: ${esc(x.reason)} <span class="muted">since ${esc(when(x.since))}</span></li>`).join("")}</ul></section>`);
  }

  async function automations() {
    if (!can("automations:read")) return noRead("Automations");
    view.innerHTML = `<h1>Automations</h1><div id="pauses"></div>
    <p class="muted">Files that wire a trigger of the <a href="#/catalog">catalog</a> to its actions; <a href="#/runs">their runs</a>.</p>
    <div class="card table"><table><caption class="muted">Every automation, refreshed while shown</caption>
      <thead><tr><th scope="col">Automation</th><th scope="col">Description</th><th scope="col" class="hide-s">Trigger</th><th scope="col" class="num">Version</th>
      <th scope="col">State</th>${can("automations:write") ? `<th scope="col">Switch</th>` : ""}</tr></thead>
      <tbody id="ab"><tr><td colspan="6">Loading…</td></tr></tbody></table>
      <p id="a-out" role="status"></p></div>`;
    const load = async () => {
      const list = await api("/automations");
      const tb = document.getElementById("ab");
      if (!tb) return;
      redraw(tb, JSON.stringify(list.items), list.items.map(a => `<tr data-automation="${esc(a.id)}">
        <td><a class="mono" data-key="a-${esc(a.id)}" href="#/automations/${encodeURIComponent(a.id)}">${esc(a.id)}</a></td><td>${esc(a.description || "")}</td>
        <td class="hide-s mono">${esc(a.triggerKey)}</td><td class="num">${esc(a.version)}</td><td>${onOff(a.enabled)}</td>
        ${can("automations:write") ? `<td>${toggleButton(a)}</td>` : ""}</tr>`).join("")
        || `<tr><td colspan="6" class="empty">No automations yet. Apply a file with <code>rankr automations apply FILE</code> or POST /api/v1/automations.</td></tr>`);
    };
    document.getElementById("ab").addEventListener("click", e => {
      const b = e.target.closest("button[data-toggle]");
      if (b) toggle(b, document.getElementById("a-out"), load);
    });
    await Promise.all([load(), pausesBanner()]);
    poll(pollMs, () => Promise.all([load(), pausesBanner()]));
  }

  async function automation(id, version) {
    if (!can("automations:read")) return noRead("Automation");
    const a = await api(`/automations/${encodeURIComponent(id)}${qs({version})}`);
    const shownLive = a.shown === a.version;
    view.innerHTML = `<p><a href="#/automations">← Automations</a></p>
    <h1>Automation <span class="mono">${esc(a.id)}</span> <span id="a-state">${onOff(a.enabled)}</span></h1><div id="pauses"></div>
    <p id="a-newer" hidden><button type="button" class="small" id="a-newer-b">A newer version is live: show it</button></p>
    <div class="grid">
      <section class="card" aria-labelledby="as-h"><h2 id="as-h">Summary</h2><dl class="kv">
        <dt>Description</dt><dd>${esc(a.description || "—")}</dd><dt>Trigger</dt><dd><a class="mono" href="#/catalog/${encodeURIComponent(a.triggerKey)}">${esc(a.triggerKey)}</a></dd>
        <dt>Live version</dt><dd>${esc(a.version)}</dd><dt>Locations</dt><dd>${a.locations ? a.locations.map(l => `<span class="mono">${esc(l)}</span>`).join(", ") : "every location"}</dd>
        <dt>Created</dt><dd>${esc(when(a.createdAt))}</dd><dt>Updated</dt><dd>${esc(when(a.updatedAt))}</dd></dl>
        <p class="row" id="a-switch">${toggleButton(a)}</p><p id="a-out" role="status"></p></section>
      <section class="card" aria-labelledby="av-h"><h2 id="av-h">Versions</h2><div class="table"><table>
        <thead><tr><th scope="col">Version</th><th scope="col">When</th><th scope="col">Author</th><th scope="col">Note</th></tr></thead>
        <tbody id="versions">${a.versions.map(v => `<tr><td><a href="#/automations/${encodeURIComponent(a.id)}/${v.version}" data-version="${v.version}"
          ${v.version === a.shown ? `aria-current="true"` : ""} aria-label="Version ${v.version}${v.version === a.version ? " (live)" : ""}">v${v.version}</a>${v.version === a.version ? ` <span class="muted">live</span>` : ""}</td>
          <td>${esc(when(v.createdAt))}</td><td>${esc(v.author?.type)} <span class="mono">${esc(v.author?.id)}</span>${v.author?.role ? ` <span class="muted">${esc(v.author.role)}</span>` : ""}</td>
          <td>${esc(v.note || "")}</td></tr>`).join("")}</tbody></table></div></section>
    </div>
    <section class="card" aria-labelledby="af-h"><h2 id="af-h">File of version ${esc(a.shown)}${shownLive ? " (live)" : ""}</h2>
      ${shownLive ? "" : `<p><a href="#/automations/${encodeURIComponent(a.id)}">Show the live version</a></p>`}
      <pre class="code" id="a-source" tabindex="0" aria-label="The file of version ${esc(a.shown)}">${esc(a.source)}</pre></section>
    <section class="card" aria-labelledby="ar-h"><h2 id="ar-h">Recent runs</h2>
      <div class="table"><table><thead>${runHead}</thead><tbody id="a-runs"><tr><td colspan="7">Loading…</td></tr></tbody></table></div>
      <p><a href="#/runs?automation=${encodeURIComponent(a.id)}">All its runs</a></p></section>`;
    const runs = async () => {
      const page = await api("/automation-runs" + qs({automation: a.id, limit: 10}));
      const tb = document.getElementById("a-runs");
      if (tb) redraw(tb, runSig(page.items), page.items.map(runRow).join("") || `<tr><td colspan="7" class="empty">No runs yet: its trigger has not fired since it was applied.</td></tr>`);
    };
    const state = async () => {
      const now = await api("/automations/" + encodeURIComponent(a.id) + qs({version: a.shown}));
      const s = document.getElementById("a-state"), sw = document.getElementById("a-switch");
      if (!s) return;
      redraw(s, String(now.enabled), onOff(now.enabled));
      redraw(sw, String(now.enabled), toggleButton(now));
      // A newer version applied meanwhile: said, not loaded, so that the
      // file being read stays put.
      if (now.version !== a.version) document.getElementById("a-newer").hidden = false;
    };
    document.getElementById("a-newer-b").addEventListener("click", () => {
      if (version) location.hash = "#/automations/" + encodeURIComponent(a.id); else ui.reload();
    });
    document.getElementById("a-switch").addEventListener("click", e => {
      const b = e.target.closest("button[data-toggle]");
      if (b) toggle(b, document.getElementById("a-out"), state);
    });
    await Promise.all([runs(), pausesBanner()]);
    poll(pollMs, () => Promise.all([runs(), state(), pausesBanner()]));
  }

  // ---- runs -------------------------------------------------------------
  async function runs() {
    if (!can("automations:read")) return noRead("Automation runs");
    const f = Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] || ""));
    const autos = await api("/automations").catch(() => ({items: []}));
    const ids = autos.items.map(a => a.id);
    if (f.automation && !ids.includes(f.automation)) ids.push(f.automation);
    view.innerHTML = `<h1>Automation runs</h1>
    <form class="filters card" id="rf" aria-label="Filter runs">
      <label>Status <select name="status"><option value="">any</option>${statuses.map(s => `<option ${f.status === s ? "selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>Automation <select name="automation"><option value="">any</option>${ids.map(id => `<option ${f.automation === id ? "selected" : ""}>${esc(id)}</option>`).join("")}</select></label>
      <button type="submit">Show</button>
    </form>
    <div class="card table"><table><caption class="muted" id="r-cap">Newest first</caption><thead>${runHead}</thead><tbody id="rb"><tr><td colspan="7">Loading…</td></tr></tbody></table>
      <div class="pager"><button type="button" class="small quiet" id="prev">Previous</button><button type="button" class="small quiet" id="next">Next</button></div></div>`;
    const form = document.getElementById("rf");
    let next = "";
    const filters = () => Object.fromEntries(new FormData(form));
    const fetchPage = cursor => api("/automation-runs" + qs({...filters(), limit: runsPage, before: cursor}));
    const draw = page => {
      const tb = document.getElementById("rb");
      if (!tb) return;
      next = page.next ? String(page.next) : "";
      const fl = filters();
      redraw(tb, runSig(page.items), page.items.map(runRow).join("") ||
        `<tr><td colspan="7" class="empty">${fl.status || fl.automation ? "No runs match." : "No runs yet: a run starts when an enabled automation's trigger fires."}</td></tr>`);
      document.getElementById("next").disabled = !next;
      document.getElementById("prev").disabled = p.depth() <= 1;
      document.getElementById("r-cap").textContent = p.depth() <= 1 ? `Newest first, refreshed every ${pollMs / 1000} s` : `Newest first, page ${p.depth()}`;
    };
    const p = pager(async cursor => draw(await fetchPage(cursor)));
    form.addEventListener("submit", e => {
      e.preventDefault();
      history.replaceState(null, "", "#/runs" + qs(filters()));
      p.first().catch(err => toast(err.message));
    });
    document.getElementById("next").addEventListener("click", () => next && p.next(next).catch(err => toast(err.message)));
    document.getElementById("prev").addEventListener("click", () => p.prev().catch(err => toast(err.message)));
    await p.first();
    // An automation applied meanwhile joins the filter's choices.
    const choices = async () => {
      const sel = form.elements.automation, have = new Set([...sel.options].map(o => o.value));
      for (const a of (await api("/automations")).items) if (!have.has(a.id)) sel.add(new Option(a.id, a.id));
    };
    // Only the first page moves: older pages stay where they are.
    poll(pollMs, async () => { await Promise.all([choices(), p.depth() <= 1 && fetchPage("").then(draw)]); });
  }

  async function run(id) {
    if (!can("automations:read")) return noRead("Automation run");
    const draw = r => {
      r.steps = r.steps || [];
      const retry = ["failed", "paused"].includes(r.status) && can("automations:write");
      view.innerHTML = `<p><a href="#/runs">← Runs</a></p>
      <h1>Run <span class="mono">${esc(r.id)}</span> <span id="r-status">${runBadge(r.status)}</span></h1>
      <div class="grid">
        <section class="card" aria-labelledby="rs-h"><h2 id="rs-h">Summary</h2><dl class="kv">
          <dt>Automation</dt><dd><a class="mono" href="#/automations/${encodeURIComponent(r.automationId)}/${r.version}">${esc(r.automationId)}</a> version ${esc(r.version)}</dd>
          <dt>Status</dt><dd>${runBadge(r.status)}</dd>
          <dt>${r.status === "skipped" ? "Filter's verdict" : "Reason"}</dt><dd id="r-reason">${esc(r.reason || "—")}</dd>
          <dt>Trigger</dt><dd class="mono">${esc(r.triggerKey)}</dd><dt>Event</dt><dd class="mono">${esc(r.eventId)}</dd>
          <dt>Location</dt><dd class="mono">${esc(r.locationId)}</dd><dt>Attempts</dt><dd>${esc(r.attempts)}</dd>
          <dt>Created</dt><dd>${esc(when(r.createdAt))}</dd><dt>Started</dt><dd>${r.startedAt ? esc(when(r.startedAt)) : "not yet"}</dd>
          <dt>Finished</dt><dd>${r.finishedAt ? esc(when(r.finishedAt)) : "not yet"}</dd>
          ${r.nextAttemptAt && !r.finishedAt ? `<dt>Next attempt</dt><dd>${esc(when(r.nextAttemptAt))}</dd>` : ""}</dl>
          ${retry ? `<p><button type="button" id="retry" aria-label="Retry run ${esc(r.id)}">Retry</button></p>` : ""}<p id="r-out" role="status"></p></section>
        <section class="card" aria-labelledby="rp-h"><h2 id="rp-h">Payload</h2>${r.payload === undefined || r.payload === null ? `<p class="muted">None.</p>` : fold("The trigger's payload", r.payload)}</section>
      </div>
      <section class="card" aria-labelledby="rst-h"><h2 id="rst-h">Steps</h2>${r.steps.length ? `<ol class="steps">${r.steps.map(s => `<li data-step="${esc(s.stepId)}">
        <h3><span class="mono">${esc(s.stepId)}</span> · attempt ${esc(s.attempt)} ${runBadge(s.status)} <span class="muted">${esc(s.ms)} ms · ${esc(when(s.startedAt))}</span></h3>
        ${s.errorClass || s.error ? `<p class="err">${s.errorClass ? `<strong>${esc(s.errorClass)}</strong>: ` : ""}${esc(s.error || "")}</p>` : ""}
        ${s.request ? `<p>Request: <span class="mono">${esc(s.request.method)} ${esc(s.request.target)}</span></p>` : ""}
        ${fold("Input", s.input)}${s.request ? fold("Request body", s.request.body) : ""}${fold("Output", s.output)}</li>`).join("")}</ol>`
        : `<p class="muted">${["queued", "running"].includes(r.status) ? "No step has run yet." : "No step ran."}</p>`}</section>`;
      document.getElementById("retry")?.addEventListener("click", async e => {
        const b = e.target, out = document.getElementById("r-out");
        b.disabled = true;
        try {
          await api(`/automation-runs/${encodeURIComponent(r.id)}/retry`, {method: "POST"});
          toast(`Run ${r.id} queued again.`);
          await load();
        } catch (err) { out.className = "err"; out.textContent = refused(err, "retry runs"); b.disabled = false; }
      });
    };
    let last = "";
    const load = async () => {
      const r = await api("/automation-runs/" + encodeURIComponent(id));
      // Redrawing folds every document again: only when the run moved.
      const sig = JSON.stringify([r.status, r.attempts, r.reason, (r.steps || []).length, r.finishedAt]);
      if (sig !== last) { last = sig; draw(r); }
      return r;
    };
    await load();
    poll(pollMs, async () => { if (/\b(queued|running)\b/.test(document.getElementById("r-status")?.textContent || "")) await load(); });
  }

  // ---- catalog ---------------------------------------------------------------
  // The catalog is fixed by the binary: read once per page load.
  let catalogDoc = null;
  async function catalog() {
    if (!can("catalog:read")) { view.innerHTML = `<h1>Catalog</h1><p>This key may not read the catalog (it needs catalog:read).</p>`; return; }
    catalogDoc = catalogDoc || await api("/catalog");
    const {counts, items} = catalogDoc;
    const f = Object.fromEntries(new URLSearchParams(sessionStorage.getItem("catalogFilters") || ""));
    const by = Object.entries(counts).filter(([k]) => k.includes(".")).sort();
    view.innerHTML = `<h1>Catalog</h1>
    <section class="card" aria-labelledby="cc-h"><h2 id="cc-h">Counts <span class="muted">catalog version ${esc(catalogDoc.version)}</span></h2>
      <div class="stats" id="counts"><div><div class="n">${esc(counts.total ?? items.length)}</div><div class="l">items</div></div>
        <div><div class="n">${esc(counts.action ?? 0)}</div><div class="l">actions</div></div><div><div class="n">${esc(counts.trigger ?? 0)}</div><div class="l">triggers</div></div></div>
      ${by.length ? `<h3>By kind and source</h3><dl class="kv">${by.map(([k, n]) => `<dt>${esc(k.replace(".", " from "))}</dt><dd>${esc(n)}</dd>`).join("")}</dl>` : ""}</section>
    <form class="filters card" id="cf" role="search" aria-label="Search the catalog">
      <label>Search <input name="q" type="search" placeholder="key, title or summary" value="${esc(f.q)}" autocomplete="off"></label>
      <label>Kind <select name="kind">${["", "action", "trigger"].map(v => `<option value="${v}" ${f.kind === v ? "selected" : ""}>${v || "any"}</option>`).join("")}</select></label>
      <label>Source <select name="source">${["", ...new Set(items.map(i => i.source))].map(v => `<option value="${esc(v)}" ${f.source === v ? "selected" : ""}>${esc(v || "any")}</option>`).join("")}</select></label>
    </form>
    <p id="c-n" role="status"></p>
    <div class="card table"><table><thead><tr><th scope="col">Item</th><th scope="col">Kind</th><th scope="col" class="hide-s">Source</th><th scope="col">Effect</th><th scope="col">Title</th></tr></thead>
      <tbody id="cb"></tbody></table></div>`;
    const form = document.getElementById("cf");
    const draw = () => {
      const v = Object.fromEntries(new FormData(form)), q = (v.q || "").trim().toLowerCase();
      sessionStorage.setItem("catalogFilters", new URLSearchParams(v).toString());
      // As the API's q: the key, title or summary hold it, in any case.
      const shown = items.filter(i => (!v.kind || i.kind === v.kind) && (!v.source || i.source === v.source) &&
        (!q || `${i.key}@${i.version}\n${i.title}\n${i.summary}`.toLowerCase().includes(q)));
      document.getElementById("cb").innerHTML = shown.map(i => `<tr><td><a class="mono" href="#/catalog/${encodeURIComponent(i.key + "@" + i.version)}">${esc(i.key)}@${esc(i.version)}</a></td>
        <td>${esc(i.kind)}</td><td class="hide-s">${esc(i.source)}</td><td>${i.effect ? ui.badge(i.effect, ["read"], ["destructive"]) : `<span class="muted">—</span>`}</td><td>${esc(i.title)}</td></tr>`).join("")
        || `<tr><td colspan="5" class="empty">Nothing in the catalog matches.</td></tr>`;
      document.getElementById("c-n").textContent = `${shown.length} of ${items.length} items`;
    };
    form.addEventListener("input", draw);
    form.addEventListener("submit", e => { e.preventDefault(); draw(); });
    draw();
  }

  async function catalogItem(id) {
    if (!can("catalog:read")) { view.innerHTML = `<h1>Catalog</h1><p>This key may not read the catalog (it needs catalog:read).</p>`; return; }
    const i = await api("/catalog/" + encodeURIComponent(id));
    view.innerHTML = `<p><a href="#/catalog">← Catalog</a></p><h1>Catalog ${esc(i.kind)} <span class="mono">${esc(i.key)}@${esc(i.version)}</span></h1>
    <div class="grid">
      <section class="card" aria-labelledby="ci-h"><h2 id="ci-h">${esc(i.title)}</h2><p id="c-summary">${esc(i.summary)}</p><dl class="kv">
        <dt>Kind</dt><dd>${esc(i.kind)}</dd><dt>Source</dt><dd>${esc(i.source)}</dd>
        ${i.effect ? `<dt>Effect</dt><dd>${ui.badge(i.effect, ["read"], ["destructive"])}</dd>` : ""}
        ${i.idempotency ? `<dt>Idempotency</dt><dd>${esc(i.idempotency)}</dd>` : ""}
        ${i.operation ? `<dt>GHL operation</dt><dd class="mono">${esc(i.operation)}</dd>` : ""}
        ${(i.fires || []).length ? `<dt>Fired by</dt><dd class="mono">${i.fires.map(esc).join(", ")}</dd>` : ""}
        <dt>GHL scopes</dt><dd id="c-scopes">${(i.scopes || []).length ? i.scopes.map(s => `<span class="mono">${esc(s)}</span>`).join(", ") : "none"}</dd></dl></section>
      <section class="card" aria-labelledby="csa-h"><h2 id="csa-h">Sample</h2>
        <p class="muted">${i.kind === "trigger" ? "A payload as the trigger hands it to an automation." : "An output as the action returns it."}</p>
        ${i.sample === undefined || i.sample === null ? `<p class="muted">None.</p>` : `<pre class="code" id="c-sample" tabindex="0" aria-label="Sample">${json(i.sample)}</pre>`}
        ${fold("Sample input", i.sampleInput)}</section>
    </div>
    <section class="card" aria-labelledby="csc-h"><h2 id="csc-h">Schemas</h2>${fold("Input schema", i.input)}${fold(i.kind === "trigger" ? "Payload schema" : "Output schema", i.output)}</section>`;
  }

  return {automations, automation, runs, run, catalog, catalogItem};
}
