// The client view: read-only, for the organizer who ordered the crew. The link carries a client token in its
// fragment (/client#token=cc_client_…), which never reaches a server log or a referrer; the page moves it into
// this tab's session storage and takes it out of the address bar. It asks GET /v1/client/orders every few
// seconds, and an order's crew (check-ins, lateness, no-shows, replacements, photos) while it is open.
"use strict";

(() => {
  const { h, fill, when, clock, meter, badge, problemText } = cc;
  const KEY = "crewcall.client";
  const POLL_MS = 5000;
  const enc = encodeURIComponent;
  const view = document.getElementById("view");

  const fromLink = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  if (fromLink) {
    sessionStorage.setItem(KEY, fromLink);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem(KEY);
  if (!token) {
    fill(view, h("div", { class: "card narrow" }, h("h1", {}, "Your crew"),
      h("p", {}, "Open the link your staffing agency sent you: it ends in ", h("code", {}, "#token=…"), ".")));
    return;
  }

  let refused = false;
  const api = cc.client(token, () => { refused = true; });
  let selected = null; // the order shown in detail
  const photoUrls = new Map();

  async function photo(p) {
    if (!photoUrls.has(p.id)) photoUrls.set(p.id, await api.blobUrl(api.photoPath(p, `/v1/client/photos/${enc(p.id)}`)).catch(() => null));
    const src = photoUrls.get(p.id);
    return src ? h("figure", { class: "photo" }, h("img", { src, alt: p.caption || "photo report" }),
      h("figcaption", {}, p.caption || "", " ", h("span", { class: "muted small" }, clock(p.taken_at)))) : null;
  }

  function orderCard(o) {
    const filled = o.roles.reduce((n, r) => n + r.filled, 0);
    const wanted = o.roles.reduce((n, r) => n + r.headcount, 0);
    return h("a", { class: `card order-card ${selected === o.id ? "selected" : ""}`, href: `#${o.id}`, dataset: { order: o.id },
      onclick: (ev) => { ev.preventDefault(); selected = o.id; tick(); } },
    h("div", { class: "cand-head" }, h("strong", {}, o.title), h("span", { class: "spacer" }), badge(o.status)),
    h("div", { class: "muted small" }, `${when(o.start)} – ${when(o.end)} · ${o.venue.name || ""}`),
    meter(filled, wanted, `${filled} of ${wanted} booked`, filled >= wanted ? "full" : ""),
    h("div", { class: "fills" }, o.roles.map((r) => h("div", { class: "fill-line" }, h("span", { class: "role-name" }, r.name),
      meter(r.filled, r.headcount, `${r.filled} / ${r.headcount}`, r.filled >= r.headcount ? "full" : "")))));
  }

  async function crewTable(detail) {
    const byId = new Map(detail.crew.map((c) => [c.assignment_id, c]));
    const rows = [];
    for (const c of detail.crew) {
      const photos = (await Promise.all((c.photos || []).map(photo))).filter(Boolean);
      const late = c.late_minutes === null || c.late_minutes === undefined ? "" : (c.late_minutes > 0 ? `${c.late_minutes} min late` : "on time");
      rows.push(h("tr", { class: c.status === "no_show" ? "no-show" : (c.replaces ? "replacement" : "") },
        h("td", {}, h("strong", {}, c.worker_name)), h("td", {}, c.role, c.kind === "standby" ? " (standby)" : ""),
        h("td", {}, badge(c.status)),
        h("td", { class: "nowrap" }, clock(c.checked_in_at)), h("td", {}, late),
        h("td", { class: "num" }, c.distance_m === null || c.distance_m === undefined ? "" : `${c.distance_m} m`),
        h("td", { class: "nowrap" }, clock(c.checked_out_at)),
        h("td", {}, c.replaces ? `replaces ${byId.has(c.replaces) ? byId.get(c.replaces).worker_name : "a no-show"}` : ""),
        h("td", {}, h("div", { class: "photos" }, photos))));
    }
    return rows.length ? h("table", { id: "crew" }, h("thead", {}, h("tr", {},
      ["Who", "Role", "Status", "Checked in", "Arrival", "Distance", "Checked out", "", "Photos"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)) : h("p", { class: "muted" }, "Nobody is booked yet.");
  }

  async function tick() {
    try {
      const list = await api.all("/v1/client/orders?limit=100", 5);
      if (refused) return fill(view, h("div", { class: "card narrow" }, h("h1", {}, "This link is not valid"),
        h("p", {}, "Ask your staffing agency for a new one.")));
      if (!list.ok) {
        return fill(view, h("div", { class: "card narrow" }, h("h1", {}, "Your crew"),
          h("p", { class: "muted" }, list.status === 404 ? "The client view is not available on this server yet." : problemText(list))));
      }
      const orders = list.items.sort((a, b) => a.start.localeCompare(b.start));
      if (!selected && orders.length) selected = (orders.find((o) => !["completed", "cancelled"].includes(o.status)) || orders[0]).id;
      let detail = null;
      if (selected) {
        const res = await api.call(`/v1/client/orders/${enc(selected)}`);
        if (res.ok) detail = res.data;
      }
      const crew = detail ? await crewTable(detail) : null;
      fill(view,
        h("h1", {}, "Your orders"),
        orders.length ? h("div", { class: "order-cards" }, orders.map(orderCard)) : h("p", { class: "muted" }, "No orders yet."),
        detail ? h("section", { class: "card", id: "detail" }, h("h2", {}, detail.order.title),
          h("p", { class: "muted" }, `${when(detail.order.start)} – ${when(detail.order.end)} · ${detail.order.venue.name || ""}`), crew) : null);
      document.getElementById("updated").textContent = `updated ${clock(new Date().toISOString())}`;
    } catch (e) {
      document.getElementById("updated").textContent = "cannot reach the server; retrying";
    }
  }

  (async function loop() {
    if (!document.hidden) await tick();
    if (!refused) setTimeout(loop, POLL_MS);
  })();
})();
