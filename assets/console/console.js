// The dispatcher's console: a board of orders, an order's page (roles, offers, crew and attendance, live
// activity), a role's explained candidates, posting an order, and the workers search. Every figure comes from
// the public API with the agency's key; live changes come from GET /v1/events/stream, read with fetch (an
// EventSource cannot send the Authorization header, and the key never goes into a URL).
"use strict";

(() => {
  const { h, fill, when, clock, meter, badge, problemText } = cc;
  const KEY = "crewcall.key";
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  let api = null;
  let view = null; // the view on screen: {onEvent(e), refresh(), gen}
  let generation = 0;
  let live = null;

  // ---- signing in ----------------------------------------------------------------------------------------

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    api = null;
    if (live) live.stop();
    live = null;
    showSignIn(message || "");
  }

  function showSignIn(message) {
    $("nav").hidden = true;
    $("sign-out").hidden = true;
    $("live").hidden = true;
    fill($("view"));
    $("sign-in-view").hidden = false;
    $("sign-in-error").textContent = message;
    $("key").focus();
  }

  async function signIn(key) {
    const candidate = cc.client(key, null);
    let res;
    try {
      res = await candidate.call("/v1/orders?limit=1");
    } catch (e) {
      return "The server cannot be reached.";
    }
    if (res.status === 401) return "That key was refused.";
    if (res.status === 403) return "That is not an agency's API key.";
    if (!res.ok) return problemText(res);
    sessionStorage.setItem(KEY, key);
    start(key);
    return null;
  }

  function start(key) {
    api = cc.client(key, () => signOut("Your key was refused; sign in again."));
    $("sign-in-view").hidden = true;
    $("nav").hidden = false;
    $("sign-out").hidden = false;
    $("live").hidden = false;
    live = stream(key);
    route();
  }

  $("sign-in-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = $("key").value.trim();
    if (!key) return;
    $("sign-in").disabled = true;
    const error = await signIn(key);
    $("sign-in").disabled = false;
    $("key").value = "";
    if (error) $("sign-in-error").textContent = error;
  });
  $("sign-out").addEventListener("click", () => signOut(""));

  // ---- the events stream ---------------------------------------------------------------------------------

  /**
   * Reads GET /v1/events/stream for as long as the tab is signed in, reconnecting with Last-Event-ID after the
   * last event seen. Each (re)connection refreshes the view on screen, which covers anything that happened
   * while no stream was open; after that each event goes to the view.
   */
  function stream(key) {
    const ctl = new AbortController();
    let last = null;
    let stopped = false;
    const setState = (text, cls) => {
      const el = $("live");
      el.textContent = text;
      el.className = `live ${cls}`;
    };
    (async () => {
      let backoff = 1000;
      while (!stopped) {
        try {
          const headers = { Authorization: `Bearer ${key}`, Accept: "text/event-stream" };
          if (last !== null) headers["Last-Event-ID"] = last;
          const r = await fetch("/v1/events/stream", { headers, signal: ctl.signal, cache: "no-store" });
          if (r.status === 401) return signOut("Your key was refused; sign in again.");
          if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
          setState("● live", "on");
          backoff = 1000;
          if (view) view.refresh();
          await readEvents(r.body, (e) => {
            if (e.id) last = e.id;
            if (!e.data) return;
            let item;
            try { item = JSON.parse(e.data); } catch { return; }
            if (view && view.onEvent) view.onEvent(item);
          });
        } catch (e) {
          if (stopped) return;
        }
        if (stopped) return;
        setState("○ reconnecting", "off");
        await new Promise((ok) => setTimeout(ok, backoff));
        backoff = Math.min(backoff * 2, 15000);
      }
    })();
    return { stop() { stopped = true; ctl.abort(); } };
  }

  /** Parses a text/event-stream body (https://html.spec.whatwg.org/#event-stream-interpretation). */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let ev = { id: null, event: "message", data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (ev.data.length) onEvent({ id: ev.id, event: ev.event, data: ev.data.join("\n") });
          ev = { id: ev.id, event: "message", data: [] };
          continue;
        }
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "data") ev.data.push(val);
        else if (field === "event") ev.event = val;
        else if (field === "id") ev.id = val;
      }
    }
  }

  // ---- routing -------------------------------------------------------------------------------------------

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/";
    const [path, query] = raw.split("?");
    return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query || "") };
  }

  function route() {
    if (!api) return;
    const { parts, params } = parseHash();
    const gen = ++generation;
    for (const a of document.querySelectorAll("#nav a")) a.classList.remove("active");
    let v;
    if (parts[0] === "orders" && parts[1] && parts[2] === "candidates") v = candidatesView(gen, parts[1], params);
    else if (parts[0] === "orders" && parts[1]) v = orderView(gen, parts[1]);
    else if (parts[0] === "post") { v = postView(gen); $("nav-post").classList.add("active"); }
    else if (parts[0] === "workers") { v = workersView(gen, params); $("nav-workers").classList.add("active"); }
    else { v = boardView(gen, params); $("nav-board").classList.add("active"); }
    view = v;
    v.refresh();
  }
  window.addEventListener("hashchange", route);

  const current = (gen) => gen === generation;

  /** Runs `fn` at most once per `ms`, after the last call (a burst of events makes one reload). */
  function debounce(fn, ms) {
    let t = null;
    return () => { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function errorBox(res) {
    return h("pre", { class: "error", role: "alert" }, problemText(res));
  }

  // ---- worker names --------------------------------------------------------------------------------------

  const names = new Map();
  const asked = new Set();

  /** A worker's name, filled in when it is known. */
  function who(id) {
    return h("span", { class: "who", dataset: { worker: id }, title: id }, names.get(id) || id);
  }

  /** Looks up the names of the workers shown that are not known yet, a few at a time. */
  async function resolveNames() {
    const ids = [...new Set([...document.querySelectorAll("[data-worker]")].map((e) => e.dataset.worker))]
      .filter((id) => id && !names.has(id) && !asked.has(id));
    ids.forEach((id) => asked.add(id));
    const next = async () => {
      while (ids.length) {
        const id = ids.shift();
        const res = await api.call(`/v1/workers/${enc(id)}`).catch(() => null);
        if (res && res.ok) names.set(id, res.data.name);
      }
    };
    await Promise.all([next(), next(), next(), next()]);
    for (const el of document.querySelectorAll("[data-worker]")) {
      if (names.has(el.dataset.worker)) el.textContent = names.get(el.dataset.worker);
    }
  }

  // ---- at risk -------------------------------------------------------------------------------------------

  const SOON_HOURS = 24;

  /**
   * Why an order needs the dispatcher's attention (empty when it does not). The README's "At risk" says the
   * same: an order that is neither completed nor cancelled, and
   *  - a role whose filled plus pending offers is below its headcount (the offers out cannot fill it), or
   *  - open slots and a start less than 24 hours away (by this computer's clock) or already past, or
   *  - a shift no-show in a role that is not full again (nobody replaced the worker).
   */
  function risks(o, now = Date.now()) {
    if (o.status === "completed" || o.status === "cancelled") return [];
    const out = [];
    // The engine's own judgement comes first: it has run out of candidates (or cannot meet a quota), or the
    // order is not fully staffed as its SLA target nears.
    if (o.at_risk) {
      const why = { quota_unreachable: "a quota cannot be met", sla: `SLA ${o.sla ? o.sla.tier : ""} target at risk` }[o.at_risk.reason]
        || "no candidates left";
      out.push(`${why}, ${o.at_risk.open_slots} open since ${when(o.at_risk.since)}`);
    }
    let open = 0;
    for (const r of o.roles) {
      open += Math.max(0, r.headcount - r.filled);
      if (r.filled + r.pending_offers < r.headcount) {
        out.push(`${r.name}: ${r.filled} filled + ${r.pending_offers} offered < ${r.headcount}`);
      }
    }
    const hours = (new Date(o.start) - now) / 3.6e6;
    if (open > 0 && hours < SOON_HOURS) {
      out.push(hours > 0 ? `starts in ${hours < 1 ? `${Math.round(hours * 60)} min` : `${Math.round(hours)} h`} with ${open} open`
        : `${open} open after the start`);
    }
    for (const r of o.roles) {
      const noShows = o.assignments.filter((a) => a.role === r.name && a.kind === "shift" && a.status === "no_show");
      if (noShows.length && r.filled < r.headcount) out.push(`${r.name}: a no-show and the role not full again`);
    }
    return out;
  }

  function riskCell(o) {
    const rs = risks(o);
    return rs.length ? h("span", { class: "risk", title: rs.join("\n") }, badge("at risk", "risk"), " ", rs[0])
      : h("span", { class: "muted" }, "—");
  }

  /** An order's SLA: its tier and whether the target was met, with the target instant as a tooltip. */
  function slaBadge(o) {
    if (!o.sla) return null;
    const kind = { met: "filled", missed: "risk", cancelled: "cancelled" }[o.sla.status] || "pending";
    return h("span", { class: "sla", title: `staffed by ${when(o.sla.target_at)}` },
      badge(`${o.sla.tier} ${o.sla.status}`, kind));
  }

  /** The SLA report's rows per tier (orders posted in the period), as a small table. */
  function slaTable(report) {
    const pct = (x) => (x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)}%`);
    const mins = (s) => (s === null || s === undefined ? "—" : `${(s / 60).toFixed(1)} min`);
    return h("table", { class: "orders sla-report" },
      h("thead", {}, h("tr", {}, ["Tier", "Orders", "Within target", "Met / missed / pending", "Time to fill, median",
        "p95", "Fill at start", "No-shows", "Replacements"].map((t) => h("th", {}, t)))),
      h("tbody", {}, report.tiers.map((r) => h("tr", { dataset: { tier: r.tier } },
        h("td", {}, r.tier), h("td", { class: "num" }, r.orders), h("td", { class: "num" }, pct(r.staffed_within_target)),
        h("td", { class: "num" }, `${r.met} / ${r.missed} / ${r.pending}`), h("td", { class: "num" }, mins(r.median_time_to_fill_s)),
        h("td", { class: "num" }, mins(r.p95_time_to_fill_s)), h("td", { class: "num" }, pct(r.fill_rate_at_start)),
        h("td", { class: "num" }, r.no_shows), h("td", { class: "num" }, r.replacements)))));
  }

  function fillCell(o) {
    return h("div", { class: "fills" }, o.roles.map((r) =>
      h("div", { class: "fill-line", dataset: { role: r.name } }, h("span", { class: "role-name" }, r.name),
        meter(r.filled, r.headcount, `${r.filled} / ${r.headcount}`, r.filled >= r.headcount ? "full" : ""))));
  }

  // ---- the board -----------------------------------------------------------------------------------------

  function isoDay(d) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function boardView(gen, params) {
    const from = params.get("from") || isoDay(new Date());
    const days = Number(params.get("days")) || 14;
    const root = h("section", { id: "board" });
    fill($("view"), root);
    const fromInput = h("input", { type: "date", id: "board-from", value: from });
    const daysSelect = h("select", { id: "board-days" }, [1, 7, 14, 30, 90, 365].map((d) =>
      h("option", { value: d, selected: d === days }, d === 1 ? "that day" : `${d} days`)));
    const go = () => { location.hash = `#/?from=${fromInput.value}&days=${daysSelect.value}`; };
    fromInput.addEventListener("change", go);
    daysSelect.addEventListener("change", go);
    const summary = h("div", { class: "stats" });
    const body = h("div", { class: "card" }, h("p", { class: "muted" }, "Loading…"));
    const sla = h("div", { class: "card", id: "sla-report", hidden: true });
    fill(root, h("div", { class: "heading" }, h("h1", {}, "Orders"),
      h("div", { class: "controls" }, h("label", {}, "from ", fromInput), h("label", {}, "for ", daysSelect))),
    summary, body, sla);

    async function refresh() {
      const start = new Date(`${from}T00:00:00`);
      const end = new Date(start.getTime() + days * 864e5);
      const res = await api.all(`/v1/orders?from=${enc(start.toISOString())}&to=${enc(end.toISOString())}&limit=200`, 10);
      if (!current(gen)) return;
      if (!res.ok) return fill(body, errorBox(res));
      const orders = res.items.sort((a, b) => a.start.localeCompare(b.start) || a.id.localeCompare(b.id));
      // The SLA figures of the orders posted in the period, per tier (GET /v1/reports/sla).
      const report = await api.call(`/v1/reports/sla?from=${enc(start.toISOString())}&to=${enc(end.toISOString())}`);
      if (!current(gen)) return;
      if (report.ok && report.data.tiers.length) {
        sla.hidden = false;
        fill(sla, h("h2", {}, "SLA by tier ", h("span", { class: "muted small" }, "orders posted in this period")), slaTable(report.data));
      } else {
        sla.hidden = true;
      }
      const atRisk = orders.filter((o) => risks(o).length).length;
      const slots = orders.filter((o) => o.status !== "cancelled").reduce((n, o) => n + o.roles.reduce((m, r) => m + r.headcount, 0), 0);
      const filled = orders.filter((o) => o.status !== "cancelled").reduce((n, o) => n + o.roles.reduce((m, r) => m + r.filled, 0), 0);
      const pending = orders.reduce((n, o) => n + o.roles.reduce((m, r) => m + r.pending_offers, 0), 0);
      fill(summary,
        stat("orders", orders.length), stat("slots filled", `${filled} / ${slots}`), stat("offers pending", pending),
        stat("at risk", atRisk, atRisk ? "bad" : "good"));
      if (!orders.length) {
        return fill(body, h("p", { class: "muted" }, "No orders in this period. ", h("a", { href: "#/post" }, "Post one"), "."));
      }
      fill(body, h("table", { class: "orders" },
        h("thead", {}, h("tr", {}, ["Start", "Order", "Status", "Fill per role", "Standby", "Offers pending", "At risk"]
          .map((t) => h("th", {}, t)))),
        h("tbody", {}, orders.map((o) => h("tr", { dataset: { order: o.id }, class: risks(o).length ? "at-risk" : "" },
          h("td", { class: "nowrap" }, when(o.start)),
          h("td", {}, h("a", { href: `#/orders/${o.id}`, class: "order-link" }, o.title),
            h("div", { class: "muted small" }, `${o.client_ref} · ${o.venue.name || ""} · ${o.id}`)),
          h("td", {}, badge(o.status), o.sla ? " " : null, slaBadge(o)),
          h("td", {}, fillCell(o)),
          h("td", { class: "num" }, `${o.standby.held} / ${o.standby.wanted}`),
          h("td", { class: "num" }, o.roles.reduce((m, r) => m + r.pending_offers, 0)),
          h("td", {}, riskCell(o)))))));
    }
    const later = debounce(() => current(gen) && refresh(), 300);
    return { refresh, onEvent: (e) => { if (e.data && (e.data.order || e.data.assignment)) later(); } };
  }

  function stat(label, value, cls) {
    return h("div", { class: `stat ${cls || ""}` }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label));
  }

  // ---- an order ------------------------------------------------------------------------------------------

  /** What an event of an order says, for the activity list; `cls` marks no-shows and replacements. */
  function describe(e, ctx) {
    const d = e.data || {};
    const worker = d.worker || (d.assignment && ctx.workerOf.get(d.assignment));
    const w = worker ? who(worker) : (d.assignment || "");
    switch (e.kind) {
      case "offer_sent":
        if (d.urgent) ctx.urgentOffers.add(d.offer);
        return { text: [d.urgent ? "urgent replacement offer to " : "offer to ", w, ` (${d.role}${d.kind === "standby" ? ", standby" : ""})`], cls: d.urgent ? "replacement" : "" };
      case "offer_closed": return { text: ["offer to ", w, ` ${d.status}`] };
      case "assignment_made":
        if (d.replaces) return { text: [w, " replaces ", ctx.workerOf.has(d.replaces) ? who(ctx.workerOf.get(d.replaces)) : d.replaces, ` as ${d.role}`], cls: "replacement" };
        if (d.offer && ctx.urgentOffers.has(d.offer)) return { text: [w, ` booked as ${d.role}, replacing a no-show`], cls: "replacement" };
        return { text: [w, ` ${d.status === "standby" ? "holds standby for" : "booked as"} ${d.role}`] };
      case "assignment_ended":
        return d.status === "no_show" ? { text: [w, " did not show up"], cls: "no-show" }
          : { text: [w, ` ${d.status} (${String(d.reason || "").replace(/_/g, " ")})`] };
      case "checked_in": return { text: [w, " checked in", d.late_minutes ? `, ${d.late_minutes} min late` : ", on time", d.distance_m !== undefined ? `, ${d.distance_m} m from the venue` : ""] };
      case "checked_out": return { text: [w, ` checked out after ${d.worked_minutes} min`] };
      case "standby_promoted": return { text: [w, " promoted from standby"], cls: "replacement" };
      case "order_status": return { text: [`order ${String(d.status).replace(/_/g, " ")}`] };
      case "order_patched": return { text: ["headcount changed: ", (d.roles || []).map((r) => `${r.name} ${r.headcount}`).join(", ")] };
      default: return { text: [e.kind.replace(/_/g, " ")] };
    }
  }

  function orderView(gen, id) {
    const root = h("section", { id: "order", dataset: { order: id } }, h("p", { class: "muted" }, "Loading…"));
    fill($("view"), root);
    const activity = [];
    let etag = null;
    // What the events need to be told apart: the assignments shown (check-ins name only the assignment) and the
    // urgent offers (an assignment made from one replaces a no-show).
    const ctx = { workerOf: new Map(), urgentOffers: new Set() };
    let photosAvailable = true;
    const photoUrls = new Map();
    let notice = null;

    async function refresh() {
      const res = await api.call(`/v1/orders/${enc(id)}`);
      if (!current(gen)) return;
      if (!res.ok) return fill(root, errorBox(res));
      const o = res.data;
      etag = res.etag;
      const [offers, assignments] = await Promise.all([
        api.all(`/v1/orders/${enc(id)}/offers?limit=500`),
        api.all(`/v1/assignments?from=${enc(o.start)}&to=${enc(o.end)}&limit=500`),
      ]);
      if (!current(gen)) return;
      const crew = (assignments.items || []).filter((a) => a.order_id === id);
      for (const a of crew) ctx.workerOf.set(a.id, a.worker_id);
      for (const of of offers.items || []) if (of.urgent) ctx.urgentOffers.add(of.id);
      const photos = await loadPhotos(crew);
      if (!current(gen)) return;
      render(o, offers, crew, photos);
      resolveNames();
    }

    /** The photo reports of the crew; none, quietly, while the server has no photos endpoint. */
    async function loadPhotos(crew) {
      const out = new Map();
      for (const a of crew.filter((a) => ["checked_in", "completed"].includes(a.status))) {
        if (!photosAvailable) break;
        const res = await api.call(`/v1/assignments/${enc(a.id)}/photos`).catch(() => null);
        if (!res || !res.ok) { if (!res || res.status === 404) photosAvailable = false; continue; }
        const items = [];
        for (const p of res.data.items || []) {
          if (!photoUrls.has(p.id)) photoUrls.set(p.id, await api.blobUrl(api.photoPath(p, `/v1/photos/${enc(p.id)}`)).catch(() => null));
          if (photoUrls.get(p.id)) items.push({ ...p, src: photoUrls.get(p.id) });
        }
        out.set(a.id, items);
      }
      return out;
    }

    function render(o, offers, crew, photos) {
      const rs = risks(o);
      const byId = new Map(crew.map((a) => [a.id, a]));
      // A worker booked through an urgent offer came in for a no-show, as does one who `replaces` an assignment.
      const urgentWorkers = new Set((offers.items || []).filter((of) => of.urgent && of.status === "accepted").map((of) => of.worker_id));
      const replacing = (a) => a.replaces || (a.kind === "shift" && urgentWorkers.has(a.worker_id));
      const counts = {};
      for (const of of offers.items || []) counts[of.status] = (counts[of.status] || 0) + 1;
      fill(root,
        h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Orders"), " › ", o.id),
        h("div", { class: "heading" }, h("h1", {}, o.title, " ", badge(o.status), o.sla ? " " : null, slaBadge(o)),
          h("div", { class: "muted" }, `${o.client_ref} · ${o.venue.name || ""} · ${when(o.start)} – ${when(o.end)} · ${o.priority} priority · ${o.dispatch.mode || "offer"} mode`
            + (o.sla ? ` · SLA ${o.sla.tier}: staffed by ${when(o.sla.target_at)}${o.sla.staffed_at ? ` (staffed ${when(o.sla.staffed_at)})` : ""}` : ""))),
        rs.length ? h("div", { class: "card warn", id: "risks" }, h("strong", {}, "At risk: "), rs.join("; ")) : null,
        notice,
        h("div", { class: "grid" },
          h("div", { class: "card" }, h("h2", {}, "Roles"),
            h("table", { id: "roles" },
              h("thead", {}, h("tr", {}, ["Role", "Filled / wanted", "Offers pending", "Headcount", ""].map((t) => h("th", {}, t)))),
              h("tbody", {}, o.roles.map((r) => roleRow(o, r)))),
            h("p", { class: "muted", id: "standby" }, `Standby: ${o.standby.held} held / ${o.standby.wanted} wanted${o.standby.auto ? " (sized automatically)" : ""}`)),
          h("div", { class: "card" }, h("h2", {}, "Live activity ", h("span", { class: "muted small" }, "since this page opened")),
            h("ol", { id: "activity", class: "activity" }, activity.length ? activity.map((a) =>
              h("li", { class: a.cls || "" }, h("span", { class: "muted" }, clock(a.at)), " ", a.text))
              : h("li", { class: "muted" }, "Nothing yet: events of this order appear here as they happen.")))),
        h("div", { class: "card" }, h("h2", {}, `Crew and attendance (${crew.length})`),
          crew.length ? h("table", { id: "crew" },
            h("thead", {}, h("tr", {}, ["Worker", "Role", "Kind", "Status", "Checked in", "Late", "Checked out", "Replaces", "Photos"].map((t) => h("th", {}, t)))),
            h("tbody", {}, crew.map((a) => h("tr", { dataset: { assignment: a.id }, class: a.status === "no_show" ? "no-show" : (replacing(a) ? "replacement" : "") },
              h("td", {}, who(a.worker_id)), h("td", {}, a.role), h("td", {}, a.kind), h("td", {}, badge(a.status)),
              h("td", { class: "nowrap" }, clock(a.checked_in_at),
                a.distance_m === null || a.distance_m === undefined ? "" : h("span", { class: "muted small" }, ` · ${a.distance_m} m`)),
              h("td", { class: "num" }, a.late_minutes === null || a.late_minutes === undefined ? "" : `${a.late_minutes} min`),
              h("td", { class: "nowrap" }, clock(a.checked_out_at)),
              h("td", {}, a.replaces ? (byId.has(a.replaces) ? who(byId.get(a.replaces).worker_id) : a.replaces) : (replacing(a) ? "a no-show (urgent offer)" : "")),
              h("td", {}, (photos.get(a.id) || []).map((p) => h("a", { href: p.src, target: "_blank", title: `${p.caption || ""} ${when(p.taken_at)}` },
                h("img", { class: "thumb", src: p.src, alt: p.caption || "photo" }))))))))
            : h("p", { class: "muted" }, "Nobody is booked yet.")),
        h("div", { class: "card" }, h("h2", {}, `Offers (${(offers.items || []).length})`, " ",
          h("span", { class: "muted small" }, Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(" · "))),
          !offers.ok ? errorBox(offers) : h("table", { id: "offers" },
            h("thead", {}, h("tr", {}, ["Worker", "Role", "Kind", "Status", "Sent", "Expires", "Decided"].map((t) => h("th", {}, t)))),
            h("tbody", {}, (offers.items || []).slice().reverse().map((of) => h("tr", { dataset: { offer: of.id } },
              h("td", {}, who(of.worker_id)), h("td", {}, of.role), h("td", {}, of.kind, of.urgent ? " (urgent)" : ""),
              h("td", {}, badge(of.status)), h("td", { class: "nowrap" }, clock(of.sent_at)),
              h("td", { class: "nowrap" }, clock(of.expires_at)), h("td", { class: "nowrap" }, clock(of.decided_at))))))));
    }

    function roleRow(o, r) {
      const input = h("input", { type: "number", min: 1, max: 10000, value: r.headcount, class: "headcount", "aria-label": `headcount of ${r.name}` });
      const save = h("button", { class: "small", onclick: () => patchHeadcount(r.name, Number(input.value)) }, "Save");
      return h("tr", { dataset: { role: r.name } },
        h("td", {}, r.name),
        h("td", { class: "fill" }, meter(r.filled, r.headcount, `${r.filled} / ${r.headcount}`, r.filled >= r.headcount ? "full" : "")),
        h("td", { class: "num pending" }, r.pending_offers),
        h("td", {}, input, " ", save),
        h("td", {}, h("a", { href: `#/orders/${o.id}/candidates?role=${enc(r.name)}`, class: "candidates-link" }, "Candidates")));
    }

    async function patchHeadcount(role, headcount) {
      const headers = etag ? { "If-Match": etag } : {};
      const res = await api.call(`/v1/orders/${enc(id)}`, { method: "PATCH", body: { roles: [{ name: role, headcount }] }, headers });
      if (!current(gen)) return;
      if (res.status === 412) notice = h("div", { class: "card warn" }, "The order changed since this page loaded it; it is shown as it is now. Check and save again.");
      else if (!res.ok) notice = errorBox(res);
      else notice = h("div", { class: "card ok" }, `Headcount of ${role} set to ${headcount}.`);
      refresh();
    }

    const later = debounce(() => current(gen) && refresh(), 250);
    function onEvent(e) {
      const d = e.data || {};
      if (d.order !== id && !(d.assignment && ctx.workerOf.has(d.assignment))) return;
      const { text, cls } = describe(e, ctx);
      activity.unshift({ at: e.at, text, cls });
      activity.splice(50);
      later();
    }
    return { refresh, onEvent };
  }

  // ---- a role's candidates -------------------------------------------------------------------------------

  const FEATURES = ["proximity", "rating", "reliability", "experience", "preferred_skills", "client_experience", "fairness", "favourite", "star"];

  function candidatesView(gen, id, params) {
    const root = h("section", { id: "candidates-view" }, h("p", { class: "muted" }, "Loading…"));
    fill($("view"), root);
    async function refresh() {
      const o = await api.call(`/v1/orders/${enc(id)}`);
      if (!current(gen)) return;
      if (!o.ok) return fill(root, errorBox(o));
      const role = params.get("role") || o.data.roles[0].name;
      const res = await api.call(`/v1/orders/${enc(id)}/candidates?role=${enc(role)}&limit=20`);
      if (!current(gen)) return;
      const tabs = h("div", { class: "tabs" }, o.data.roles.map((r) =>
        h("a", { href: `#/orders/${id}/candidates?role=${enc(r.name)}`, class: r.name === role ? "active" : "" }, r.name)));
      const head = [h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Orders"), " › ", h("a", { href: `#/orders/${id}` }, o.data.title), " › candidates"),
        h("div", { class: "heading" }, h("h1", {}, `Candidates for ${role}`), tabs)];
      if (!res.ok) return fill(root, head, errorBox(res));
      const c = res.data;
      const max = Math.max(1e-9, ...c.items.flatMap((i) => Object.values(i.explain).map(Math.abs)));
      fill(root, head,
        h("p", { class: "muted" }, `${c.eligible} passed every hard filter (scoring policy v${c.policy_version}). Left out: `,
          Object.entries(c.excluded).filter(([, n]) => n).map(([k, n]) => `${k.replace(/_/g, " ")} ${n}`).join(", ") || "none",
          ". Workers already offered or booked in this order are left out too."),
        c.items.length ? h("ol", { id: "candidates", class: "candidates" }, c.items.map((i, n) => candidate(i, n, max)))
          : h("p", { class: "card muted" }, "No candidate left for this role."));
    }
    return { refresh, onEvent: null };
  }

  function candidate(i, n, max) {
    const entries = Object.entries(i.explain).sort((a, b) =>
      (FEATURES.indexOf(a[0]) + 99) % 99 - (FEATURES.indexOf(b[0]) + 99) % 99 || a[0].localeCompare(b[0]));
    const sum = entries.reduce((s, [, v]) => s + v, 0);
    const stack = h("div", { class: "stack", title: "each feature's share of the score" }, entries.filter(([, v]) => v > 0).map(([f, v]) => {
      const seg = h("span", { class: `seg f-${f}`, title: `${f} ${v.toFixed(3)}` });
      seg.style.width = `${Math.min(100, v * 100)}%`;
      return seg;
    }));
    return h("li", { class: "card candidate", dataset: { candidate: i.worker_id } },
      h("div", { class: "cand-head" }, h("span", { class: "rank" }, `#${n + 1}`), h("strong", {}, i.name),
        h("span", { class: "spacer" }), h("span", { class: "score" }, "score ", h("b", {}, i.score.toFixed(3)))),
      h("div", { class: "muted small cand-meta" }, `${i.worker_id} · ${i.tier} · ${i.distance_km.toFixed(1)} km from the venue`),
      stack,
      h("table", { class: "explain" }, h("tbody", {}, entries.map(([f, v]) => {
        const bar = h("span", { class: `bar f-${f} ${v < 0 ? "neg" : ""} ${v === 0 ? "zero" : ""}` });
        bar.style.width = `${(100 * Math.abs(v)) / max}%`;
        return h("tr", { dataset: { feature: f } }, h("td", { class: "feature" }, f.replace(/_/g, " ")),
          h("td", { class: "bar-cell" }, bar), h("td", { class: "num" }, v.toFixed(3)));
      }), h("tr", { class: "sum" }, h("td", {}, "sum"), h("td", { class: "muted small" }, "the contributions add up to the score"),
        h("td", { class: "num" }, h("b", {}, sum.toFixed(3)))))));
  }

  // ---- posting an order ----------------------------------------------------------------------------------

  function postView(gen) {
    const text = h("textarea", { id: "order-json", spellcheck: "false", rows: 28 });
    const out = h("div", { id: "post-result" });
    const idem = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
    let key = idem();
    text.addEventListener("input", () => { key = idem(); });
    const button = h("button", { id: "post-order", type: "submit" }, "Post order");
    const form = h("form", { onsubmit: async (ev) => {
      ev.preventDefault();
      let body;
      try { body = JSON.parse(text.value); } catch (e) { return fill(out, h("pre", { class: "error" }, `Not JSON: ${e.message}`)); }
      button.disabled = true;
      // The Idempotency-Key makes a double submit post one order.
      const res = await api.call("/v1/orders", { method: "POST", body, headers: { "Idempotency-Key": key } });
      button.disabled = false;
      if (!current(gen)) return;
      if (res.status === 201) { location.hash = `#/orders/${res.data.id}`; return; }
      fill(out, errorBox(res));
    } }, text, h("div", { class: "actions" }, button,
      h("button", { type: "button", class: "link", onclick: () => loadSample() }, "Reset to the sample order")), out);
    fill($("view"), h("section", { id: "post" }, h("h1", {}, "Post an order"),
      h("p", { class: "muted" }, "The body of POST /v1/orders. ", h("code", {}, "dispatch.mode"), " \"offer\" sends offers to the best candidates of each role; \"assign\" books the optimal crew at once."),
      h("div", { class: "card" }, form)));
    async function loadSample() {
      const r = await fetch("/console/order-sample.json");
      if (current(gen)) { text.value = await r.text(); key = idem(); }
    }
    return { refresh: loadSample, onEvent: null };
  }

  // ---- workers -------------------------------------------------------------------------------------------

  function workersView(gen, params) {
    const field = (name, label, attrs) => h("label", {}, label, h("input", { name, value: params.get(name) || "", ...attrs }));
    const form = h("form", { class: "controls wrap", id: "workers-form", onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const el of form.querySelectorAll("input")) if (el.value.trim()) q.set(el.name, el.value.trim());
      location.hash = `#/workers?${q}`;
    } },
    field("q", "words ", { placeholder: "bio, name, skills" }), field("skill", "skill ", { placeholder: "promoter" }),
    field("near", "near ", { placeholder: "31.27,121.52" }), field("radius_km", "radius km ", { type: "number", min: 1, max: 500, step: "any" }),
    h("button", { type: "submit" }, "Search"));
    const results = h("div", { class: "card" });
    fill($("view"), h("section", { id: "workers" }, h("h1", {}, "Workers"), form, results));
    let cursor = null;
    let shown = [];

    async function refresh(more) {
      const q = new URLSearchParams();
      for (const k of ["q", "skill", "near", "radius_km"]) if (params.get(k)) q.set(k, params.get(k));
      q.set("limit", "50");
      if (more && cursor) q.set("cursor", cursor);
      const res = await api.call(`/v1/workers?${q}`);
      if (!current(gen)) return;
      if (!res.ok) return fill(results, errorBox(res));
      shown = more ? shown.concat(res.data.items) : res.data.items;
      cursor = res.data.next_cursor;
      fill(results, shown.length ? h("table", { id: "worker-results" },
        h("thead", {}, h("tr", {}, ["Name", "Skills", "Languages", "Tier", "Rating", "Attendance", "Shifts", "Status"].map((t) => h("th", {}, t)))),
        h("tbody", {}, shown.map((w) => h("tr", {},
          h("td", {}, h("strong", {}, w.name), h("div", { class: "muted small" }, `${w.id} · ${w.external_ref}`)),
          h("td", {}, w.skills.map((s) => `${s.name}${s.level ? ` ${s.level}` : ""}`).join(", ")),
          h("td", {}, w.languages.join(", ")),
          h("td", {}, w.stats.tier),
          h("td", { class: "num" }, w.stats.rating_avg === null ? "—" : `${w.stats.rating_avg.toFixed(1)} (${w.stats.rating_count})`),
          h("td", { class: "num" }, `${Math.round(w.stats.attendance_rate * 100)}%`),
          h("td", { class: "num" }, w.stats.completed_shifts),
          h("td", {}, badge(w.status))))))
        : h("p", { class: "muted" }, "No worker matches."),
      cursor ? h("button", { class: "small", onclick: () => refresh(true) }, "More") : null);
    }
    return { refresh: () => refresh(false), onEvent: null };
  }

  // ---- start ---------------------------------------------------------------------------------------------

  const saved = sessionStorage.getItem(KEY);
  if (saved) start(saved);
  else showSignIn("");
})();
