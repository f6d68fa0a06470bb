// Shared by the dispatcher's console and the client view: building DOM (never from HTML strings, so nothing
// the API returns can run as markup), formatting times, and calling the API with a bearer token.
"use strict";

const cc = (() => {
  /** An element: h("td", {class: "num"}, "3", h("b", {}, "x")). Attributes named on* are listeners. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Replaces an element's children. */
  function fill(el, ...children) {
    el.replaceChildren();
    return append(el, children);
  }

  const dateTime = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  /** An instant as the reader's local date and time. */
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : dateTime.format(d);
  }

  /** An instant as the reader's local time of day. */
  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : timeOnly.format(d);
  }

  /** A bar of `value` out of `max`, with its text beside it. */
  function meter(value, max, text, cls) {
    const bar = h("span", { class: "meter-fill" });
    bar.style.width = `${max > 0 ? Math.min(100, (100 * value) / max) : 0}%`;
    return h("span", { class: `meter ${cls || ""}` }, h("span", { class: "meter-track" }, bar),
      h("span", { class: "meter-text" }, text));
  }

  /** A short status word, coloured by what it means. */
  function badge(text, kind) {
    return h("span", { class: `badge badge-${kind || String(text).replace(/[^a-z_]/g, "")}` }, text);
  }

  /** The message of a problem+json answer, with its field errors. */
  function problemText(res) {
    const p = res.data || {};
    const head = p.detail || p.title || `HTTP ${res.status}`;
    const fields = Array.isArray(p.errors) ? p.errors.map((e) => `${e.field}: ${e.message}`) : [];
    return [head, ...fields].join("\n");
  }

  /**
   * A client of the API with a bearer token. `onUnauthorized` runs on a 401 (the token was refused or revoked).
   * Answers are {status, ok, data, etag}; only a network failure throws.
   */
  function client(token, onUnauthorized) {
    async function call(path, { method = "GET", body, headers = {} } = {}) {
      const hs = { Authorization: `Bearer ${token}`, Accept: "application/json", ...headers };
      if (body !== undefined) hs["Content-Type"] = "application/json";
      const r = await fetch(path, {
        method, headers: hs, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      });
      const ct = r.headers.get("content-type") || "";
      let data = null;
      if (ct.includes("json")) data = await r.json().catch(() => null);
      if (r.status === 401 && onUnauthorized) onUnauthorized();
      return { status: r.status, ok: r.ok, data, etag: r.headers.get("etag") };
    }
    /** Every item of a paginated list, following `next_cursor` for at most `pages` pages. */
    async function all(path, pages = 20) {
      const items = [];
      let cursor = null;
      for (let i = 0; i < pages; i++) {
        const sep = path.includes("?") ? "&" : "?";
        const res = await call(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
        if (!res.ok) return { ...res, items };
        items.push(...(res.data.items || []));
        cursor = res.data.next_cursor;
        if (!cursor) break;
      }
      return { status: 200, ok: true, items };
    }
    /** An image the API serves behind the token, as an object URL (an <img> cannot send the header). */
    async function blobUrl(path) {
      const r = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
      if (!r.ok) return null;
      return URL.createObjectURL(await r.blob());
    }
    /**
     * Where to fetch a photo from: the `url` the API gave when it is a path on this server (the token is never
     * sent anywhere else), or the `fallback` path.
     */
    function photoPath(p, fallback) {
      const u = typeof p.url === "string" ? p.url : "";
      return u.startsWith("/") && !u.startsWith("//") ? u : fallback;
    }
    return { call, all, blobUrl, photoPath };
  }

  return { h, append, fill, when, clock, meter, badge, problemText, client };
})();
