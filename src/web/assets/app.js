// moat dashboard: plain JavaScript, no library, nothing from elsewhere.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : String(k ?? ""));
    return e;
  };
  const api = async (path, opts) => {
    const r = await fetch(path, Object.assign({ credentials: "same-origin" }, opts));
    if (r.status === 401) { location.reload(); throw new Error("signed out"); }
    const body = await r.json();
    if (!r.ok) throw new Error(body.message || body.error || r.statusText);
    return body;
  };
  const fmtTime = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\..*/, "");
  const text = (v) => typeof v === "string" ? v : JSON.stringify(v);

  // ---- tabs ----
  const tabs = ["status", "settings", "containers", "audit", "net"];
  const loaders = {};
  function show(name) {
    for (const t of tabs) {
      $("tab-" + t).setAttribute("aria-selected", t === name ? "true" : "false");
      $("view-" + t).hidden = t !== name;
    }
    if (loaders[name]) loaders[name]();
  }
  for (const t of tabs) $("tab-" + t).addEventListener("click", () => show(t));

  // ---- status and charts ----
  loaders.status = async () => {
    const s = await api("/api/status");
    const dl = $("status");
    dl.replaceChildren();
    const add = (k, v) => dl.append(el("dt", {}, k), el("dd", {}, v));
    add("moatd", "pid " + s.moatd.pid + ", since " + fmtTime(s.moatd.started_at_ms));
    add("engine guard", s.moatd.engine_guard ? "running" : "off");
    add("net guard", s.moatd.net_guard ? "running" : "off");
    add("policy source", s.policy.source);
    add("Enhanced Container Isolation", s.policy.enhancedContainerIsolation.enabled ? "on" : "off");
    add("allowedOrgs", (s.signin.allowedOrgs || []).join(", ") || "none");
    add("containers with an id range", s.isolation.containers_with_id_range);
    for (const e of s.errors || []) add("problem (" + e.component + ")", e.message);
    drawCharts(await api("/api/charts"));
  };
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, txt) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (txt !== undefined) e.textContent = txt;
    return e;
  };
  function drawCharts(c) {
    // Id ranges: one bar for the pool, a block per range in use.
    const W = 420, H = 60;
    const r = svg("svg", { width: W, height: H, role: "img", id: "svg-ranges",
      "aria-label": c.ranges.length + " id ranges in use of " + (c.pool.ranges || "?") + " in the pool" });
    r.append(svg("rect", { x: 0, y: 10, width: W, height: 24, fill: "#e6ebf1", stroke: "#8c959f" }));
    const start = c.pool.start || 0, count = c.pool.count || 1;
    for (const g of c.ranges) {
      const x = Math.max(0, (g.base - start) / count * W);
      const w = Math.max(2, g.size / count * W);
      const b = svg("rect", { x: x, y: 10, width: w, height: 24, fill: "#0b5cad" });
      b.append(svg("title", {}, g.container.slice(0, 12) + ": " + g.base + "-" + (g.base + g.size - 1)));
      r.append(b);
    }
    r.append(svg("text", { x: 0, y: 52 }, c.ranges.length + " in use / " + (c.pool.ranges || "?") + " ranges in the pool"));
    $("chart-ranges").replaceChildren(r);
    // Refusals per hour.
    const bars = c.refusals;
    const max = Math.max(1, ...bars.map((b) => b.count));
    const f = svg("svg", { width: W, height: 120, role: "img", id: "svg-refusals",
      "aria-label": "refusals per hour: " + bars.map((b) => b.count).join(", ") });
    const bw = W / bars.length;
    bars.forEach((b, i) => {
      const h = b.count / max * 90;
      const rect = svg("rect", { x: i * bw + 1, y: 100 - h, width: bw - 2, height: h, fill: "#b42318" });
      rect.append(svg("title", {}, fmtTime(b.hour_ms) + ": " + b.count));
      f.append(rect);
    });
    f.append(svg("line", { x1: 0, y1: 100, x2: W, y2: 100, stroke: "#8c959f" }));
    f.append(svg("text", { x: 0, y: 115 }, "24 h ago"));
    f.append(svg("text", { x: W - 30, y: 115 }, "now"));
    f.append(svg("text", { x: W - 60, y: 12 }, "max " + max));
    $("chart-refusals").replaceChildren(f);
  }

  // ---- settings ----
  loaders.settings = async () => {
    const rows = await api("/api/settings");
    const tb = $("settings").tBodies[0];
    tb.replaceChildren();
    for (const s of rows) {
      const id = "set-" + s.key;
      let input;
      if (typeof s.value === "boolean") {
        input = el("select", { id: id });
        for (const v of ["true", "false"]) {
          const o = el("option", { value: v }, v);
          if (String(s.value) === v) o.selected = true;
          input.append(o);
        }
      } else {
        input = el("input", { id: id, size: 30 });
        input.value = text(s.value);
      }
      const label = el("label", { for: id }, s.key);
      const valueCell = el("td", {}, input);
      const save = el("button", { type: "button" }, "Save");
      if (s.locked) {
        input.disabled = true;
        save.disabled = true;
        valueCell.append(el("span", { class: "locked" }, "locked by your administrator"));
      }
      save.addEventListener("click", async () => {
        const msg = $("settings-msg");
        try {
          await api("/api/settings", { method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ key: s.key, value: input.value }) });
          msg.className = ""; msg.textContent = s.key + " set to " + input.value;
          loaders.settings();
        } catch (e) { msg.className = "error"; msg.textContent = e.message; }
      });
      tb.append(el("tr", { "data-key": s.key, "data-locked": s.locked ? "true" : "false" },
        el("td", {}, label), valueCell, el("td", {}, s.source), el("td", {}, save)));
    }
  };

  // ---- containers ----
  loaders.containers = async () => {
    const list = await api("/api/containers");
    const tb = $("containers").tBodies[0];
    tb.replaceChildren();
    for (const c of list) {
      const range = c.id_range ? c.id_range.base + "-" + (c.id_range.base + c.id_range.size - 1) : "none";
      tb.append(el("tr", { "data-id": c.id }, el("td", {}, c.name), el("td", {}, c.image),
        el("td", {}, c.state), el("td", {}, range), el("td", {}, c.runtime || "")));
    }
  };

  // ---- audit (live) ----
  const filt = () => ({ component: $("f-component").value.trim(), outcome: $("f-outcome").value.trim(),
    text: $("f-text").value.trim().toLowerCase() });
  const matches = (r, f) => (!f.component || r.component === f.component) && (!f.outcome || r.outcome === f.outcome) &&
    (!f.text || JSON.stringify(r).toLowerCase().includes(f.text));
  const auditRow = (r) => el("tr", { "data-id": r.id }, el("td", {}, r.id), el("td", {}, fmtTime(r.time)),
    el("td", {}, r.component), el("td", { class: r.outcome }, r.outcome), el("td", {}, r.rule),
    el("td", {}, r.endpoint), el("td", { class: "detail" }, r.detail || ""));
  let stream = null, lastId = 0;
  loaders.audit = async () => {
    const f = filt();
    const q = new URLSearchParams({ limit: "200" });
    if (f.component) q.set("component", f.component);
    if (f.outcome) q.set("outcome", f.outcome);
    const recs = await api("/api/audit?" + q);
    const tb = $("audit").tBodies[0];
    tb.replaceChildren(...recs.filter((r) => matches(r, f)).map(auditRow));
    for (const r of recs) lastId = Math.max(lastId, r.id);
    if (!stream) {
      stream = new EventSource("/api/audit/stream?since=" + lastId);
      stream.onopen = () => { $("live").textContent = "live"; };
      stream.onerror = () => { $("live").textContent = "reconnecting"; };
      stream.onmessage = (ev) => {
        const r = JSON.parse(ev.data);
        if (r.id <= lastId) return; // a reconnect's catch-up repeats some
        lastId = r.id;
        if (matches(r, filt())) tb.prepend(auditRow(r));
        while (tb.rows.length > 500) tb.deleteRow(-1);
      };
    }
  };
  $("audit-filter").addEventListener("submit", (e) => { e.preventDefault(); loaders.audit(); });

  // ---- net guard ----
  loaders.net = async () => {
    const recs = await api("/api/net?limit=200");
    $("net").tBodies[0].replaceChildren(...recs.map((r) => el("tr", {}, el("td", {}, fmtTime(r.time)),
      el("td", {}, r.container || ""), el("td", {}, r.endpoint), el("td", { class: r.outcome }, r.outcome),
      el("td", {}, r.rule), el("td", { class: "detail" }, r.detail || ""))));
  };

  // ---- extensions: a tab each, the UI framed from its own origin ----
  const frames = new Map(); // iframe -> {name, title, src, origin}
  function toast(x, kind, msg) {
    const t = el("div", { class: "toast " + (["success", "warning", "error"].includes(kind) ? kind : "") },
      x.title + ": " + msg);
    $("toasts").append(t);
    setTimeout(() => t.remove(), 8000);
  }
  async function loadExtensions() {
    for (const x of await api("/api/extensions")) {
      const id = "ext-" + x.name;
      const tab = el("button", { role: "tab", id: "tab-" + id, "aria-controls": "view-" + id,
        "aria-selected": "false" }, x.title);
      const frame = el("iframe", { id: "frame-" + x.name, title: x.title, class: "ext-frame",
        src: x.origin + "/" + x.src });
      const view = el("section", { role: "tabpanel", id: "view-" + id, "aria-labelledby": "tab-" + id },
        el("h2", {}, x.title), frame);
      view.hidden = true;
      $("ext-tabs").append(tab);
      document.querySelector("main").append(view);
      tabs.push(id);
      frames.set(frame, x);
      tab.addEventListener("click", () => show(id));
    }
  }
  // Only a frame of ours, from its own origin, is answered.
  window.addEventListener("message", async (ev) => {
    let x = null;
    for (const [f, info] of frames) if (f.contentWindow === ev.source) x = info;
    if (!x || ev.origin !== x.origin || !ev.data || typeof ev.data !== "object") return;
    if (ev.data.moat === "ticket") {
      const r = await api("/api/extensions/" + encodeURIComponent(x.name) + "/ticket",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      ev.source.postMessage({ moat: "ticket", ticket: r.ticket }, x.origin);
    } else if (ev.data.moat === "toast") {
      toast(x, ev.data.kind, String(ev.data.text).slice(0, 500));
    }
  });

  $("logout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", credentials: "same-origin" });
    location.reload();
  });
  api("/api/session").then((s) => { $("who").textContent = "signed in as uid " + s.uid; });
  show("status");
  loadExtensions().catch(() => {});
})();
