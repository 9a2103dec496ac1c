// gridledger dashboard: hash-routed views over the dashboard's JSON reads, live updates by
// server-sent events. Text is always inserted as text (never as HTML).
"use strict";

const VIEWS = ["network", "home", "market", "certificates", "grid", "audit"];
const charts = {};
let events = null;
let eventsOwner = null;
let lastNetworkLoad = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function short(v) {
  const s = String(v);
  return /^[0-9a-f]{40,}$/i.test(s) ? s.slice(0, 10) + "…" : s;
}

function cell(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(short).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return short(v);
}

// A table of `rows` with `columns` (all keys of the first row when none given).
function table(target, rows, columns, caption, onRow) {
  const box = document.getElementById(target);
  box.replaceChildren();
  if (!rows || rows.length === 0) {
    box.append(el("p", { class: "empty", text: "none" }));
    return;
  }
  const cols = columns || Object.keys(rows[0]);
  const t = el("table", {});
  if (caption) t.append(el("caption", { text: caption }));
  const head = el("tr", {});
  for (const c of cols) head.append(el("th", { scope: "col", text: c }));
  t.append(el("thead", {}, head));
  const body = el("tbody", {});
  for (const r of rows) {
    const tr = el("tr", {});
    for (const c of cols) tr.append(el("td", { "data-col": c, text: cell(r[c]) }));
    if (onRow) {
      tr.tabIndex = 0;
      tr.classList.add("pick");
      tr.addEventListener("click", () => onRow(r));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") onRow(r); });
    }
    body.append(tr);
  }
  t.append(body);
  box.append(el("div", { class: "scroll" }, t));
}

function setError(id, message) {
  document.getElementById(id).textContent = message || "";
}

async function getJSON(url, errorId, options) {
  setError(errorId, "");
  let res;
  try {
    res = await fetch(url, options);
  } catch (e) {
    setError(errorId, "the dashboard server cannot be reached");
    return null;
  }
  const data = await res.json().catch(() => ({ error: "bad answer from the dashboard server" }));
  if (!res.ok) {
    setError(errorId, data.error || ("HTTP " + res.status));
    return null;
  }
  return data;
}

function chart(id, config) {
  if (typeof Chart === "undefined") return;
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  charts[id] = new Chart(document.getElementById(id), config);
}

// ---- Network ----------------------------------------------------------------------------
async function loadNetwork() {
  lastNetworkLoad = Date.now();
  const d = await getJSON("/api/network", "network-error");
  if (!d) return;
  const agree = d.agreement.agree ? "agree" : "DISAGREE";
  document.getElementById("network-summary").textContent =
    `chain ${d.chain_id} · height ${d.height} · reading from ${d.reading_from} · failovers ${d.failovers} · ` +
    `mempool ${d.mempool} txs · app hashes at height ${d.agreement.height}: ${agree}`;
  document.getElementById("network-summary").dataset.height = d.height;
  document.getElementById("network-summary").dataset.readingFrom = d.reading_from;
  table("network-nodes", d.nodes.map((n) => ({
    node: n.url, up: n.up ? "up" : "DOWN", moniker: n.moniker || "", height: n.height ?? "",
    app_hash: n.app_hash ? n.app_hash.slice(0, 16) : "",
  })), ["node", "up", "moniker", "height", "app_hash"], "nodes");
  table("network-validators", d.validators, ["address", "voting_power"], "validators");
  table("network-proposals", d.proposals, ["id", "title", "proposer_org", "status", "yes_orgs", "no_orgs"], "proposals");
  const blocks = d.blocks.filter((b) => b.seconds !== undefined);
  chart("chart-blocks", {
    type: "bar",
    data: {
      labels: blocks.map((b) => b.height),
      datasets: [{ label: "seconds since the block before", data: blocks.map((b) => b.seconds) }],
    },
    options: { scales: { x: { title: { display: true, text: "height" } }, y: { title: { display: true, text: "s" } } } },
  });
}

// The request options carrying the loaded key's read grant (sign.js), for households' private data.
async function withGrant() {
  const g = window.gridledgerReadGrant ? await window.gridledgerReadGrant().catch(() => null) : null;
  return g ? { headers: { "X-Gridledger-Read-Grant": g } } : undefined;
}

const PRIVATE_NOTE = "private: load the member's key to read this";

// ---- Home -------------------------------------------------------------------------------
async function loadHome(member) {
  const d = await getJSON("/api/home?member=" + encodeURIComponent(member), "home-error", await withGrant());
  if (!d) return;
  const priv = document.getElementById("home-private");
  priv.textContent = d.private.length ? `${PRIVATE_NOTE} (${d.private.join(", ")})` : "";
  priv.dataset.private = d.private.join(",");
  document.getElementById("home-body").hidden = false;
  const m = d.member;
  const summary = document.getElementById("home-summary");
  if (summary.dataset.ref !== d.ref) {  // another member: nothing of the previous one stays on the page
    document.getElementById("home-live-alerts").replaceChildren();
    document.getElementById("action-command").textContent = "";
    document.getElementById("action-result").textContent = "";
    delete document.getElementById("action-command").dataset.argv;
    setError("action-error", "");
  }
  summary.dataset.ref = d.ref;
  summary.textContent = `${d.ref} · ${d.address} · balance ${d.balance} minor units · roles ${m.roles.join(", ")}`;
  summary.dataset.balance = d.balance;
  summary.dataset.address = d.address;
  summary.dataset.nonce = d.nonce;
  summary.dataset.chainId = d.chain_id;
  table("home-alerts", d.alerts, ["alert_id", "rule_id", "reason", "interval_start", "best_price", "accepted", "accept_command"], "alerts (pick one to accept new terms)", (a) => prefillAccept(a.alert_id));
  table("home-sites", d.sites, ["site_id", "feeder", "grid_region"], "sites");
  table("home-devices", d.devices, ["device_id", "site_id", "kind", "nameplate_w", "energy_source", "suspended"], "devices");
  table("home-orders", d.orders, ["order_id", "side", "interval_start", "energy_wh", "limit_price", "status", "filled_wh", "escrow"], "orders");
  table("home-fills", d.fills, ["order_id", "side", "interval_start", "energy_wh", "price", "fee_per_kwh", "feeder"], "fills");
  table("home-rules", d.rules, ["rule_id", "kind", "site_id", "limit_price", "max_wh_per_interval", "day_wh", "day_spent"], "rules");
  table("home-statements", d.statements, ["interval_start", "bought_wh", "sold_wh", "paid", "received", "fees"], "statements");
  chart("chart-soc", {
    type: "bar",
    data: {
      labels: d.batteries.map((b) => b.device_id),
      datasets: [{ label: "state of charge (%)", data: d.batteries.map((b) => b.capacity_wh ? (b.soc_mwh / 10 / b.capacity_wh) : 0) }],
    },
    options: { scales: { y: { min: 0, max: 100 } } },
  });
  const hhmm = (t) => new Date(t * 1000).toISOString().slice(11, 16);
  const socTimes = [...new Set(d.batteries.flatMap((b) => b.history.map((p) => p.time)))].sort((a, b) => a - b);
  chart("chart-soc-day", {
    type: "line",
    data: {
      labels: socTimes.map(hhmm),
      datasets: d.batteries.map((b) => {
        const at = new Map(b.history.map((p) => [p.time, b.capacity_wh ? (100 * p.soc_wh) / b.capacity_wh : 0]));
        return { label: `${b.device_id} state of charge (%)`, data: socTimes.map((t) => at.get(t) ?? null), spanGaps: true };
      }),
    },
    options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } }, x: { title: { display: true, text: "UTC" } } } },
  });
  document.getElementById("chart-soc-day").dataset.points =
    d.batteries.flatMap((b) => b.history.map((p) => (b.capacity_wh ? Math.floor((100 * p.soc_wh) / b.capacity_wh) : 0))).join(",");
  const fbox = document.getElementById("home-forecasts");
  fbox.replaceChildren();
  if (!d.forecasts.length) fbox.append(el("p", { class: "empty", text: "no devices" }));
  for (const f of d.forecasts) {
    const id = "chart-forecast-" + f.device_id.replace(/[^A-Za-z0-9_-]/g, "_");
    fbox.append(el("h4", { text: f.device_id }),
      el("div", { class: "chart" }, el("canvas", { id, role: "img", "aria-label": `Forecast against metered energy of ${f.device_id} per interval` })));
    chart(id, {
      data: {
        labels: f.rows.map((r) => hhmm(r.interval)),
        datasets: [
          { type: "bar", label: "metered export Wh", data: f.rows.map((r) => r.metered_export_wh) },
          { type: "bar", label: "metered import Wh", data: f.rows.map((r) => r.metered_import_wh) },
          { type: "line", label: "forecast export Wh", data: f.rows.map((r) => r.forecast_export_wh) },
          { type: "line", label: "forecast import Wh", data: f.rows.map((r) => r.forecast_import_wh) },
        ],
      },
      options: { scales: { y: { title: { display: true, text: "Wh" } } } },
    });
  }
  chart("chart-statements", {
    type: "bar",
    data: {
      labels: d.statements.map((s) => s.interval_start),
      datasets: [
        { label: "bought Wh", data: d.statements.map((s) => s.bought_wh) },
        { label: "sold Wh", data: d.statements.map((s) => s.sold_wh) },
      ],
    },
  });
  follow(d.address);
}

function acceptButton(alertId) {
  const b = el("button", { type: "button", class: "accept", text: "accept new terms…" });
  b.addEventListener("click", () => prefillAccept(alertId));
  return b;
}

function showLiveAlert(msg) {
  const a = msg.attributes;
  const list = document.getElementById("home-live-alerts");
  const who = document.getElementById("home-summary").dataset.ref;
  const cmd = `gridctl --as ${who} accept ${a.alert_id} --limit <new price per kWh>`;
  list.prepend(el("li", { class: "live-alert", "data-alert-id": a.alert_id },
    `height ${msg.height}: alert ${a.alert_id} (rule ${a.rule_id || "-"}, ${a.reason || ""}) — accept new terms with: `,
    el("code", { text: cmd }), " ", acceptButton(a.alert_id)));
}

// ---- Actions (the gridctl command to run; the dashboard signs nothing) -------------------
function showActionFields() {
  const action = document.getElementById("action-kind").value;
  for (const span of document.querySelectorAll("#action-form [data-for]")) {
    span.hidden = !span.dataset.for.split(" ").includes(action);
  }
}

async function showCommand() {
  document.getElementById("action-result").textContent = "";
  const out = document.getElementById("action-command");
  out.textContent = "";
  delete out.dataset.command;
  const q = new URLSearchParams({ member: document.getElementById("home-summary").dataset.ref || "" });
  for (const input of document.querySelectorAll("#action-form select, #action-form input")) {
    if (input.id === "action-kind" || !input.closest("[data-for]").hidden) {
      if (input.value.trim() !== "") q.set(input.name, input.value.trim());
    }
  }
  const d = await getJSON("/api/command?" + q.toString(), "action-error");
  if (!d) return;
  out.textContent = d.command;
  out.dataset.argv = JSON.stringify(d.argv);
}

function prefillAccept(alertId) {
  document.getElementById("action-kind").value = "accept";
  document.getElementById("action-alert").value = alertId;
  showActionFields();
  document.getElementById("action-limit").focus();
}

// ---- Market -----------------------------------------------------------------------------
async function loadMarket(interval) {
  const q = interval ? "?interval=" + encodeURIComponent(interval) : "";
  const d = await getJSON("/api/market" + q, "market-error");
  if (!d) return;
  const c = d.clearing;
  const s = document.getElementById("market-summary");
  s.textContent = `interval ${d.interval} (${d.interval_seconds} s) · ` + (c
    ? `pool price ${c.pool_price} per kWh · ${c.total_wh} Wh cleared · demand ${c.demand_wh} Wh · supply ${c.supply_wh} Wh`
    : "not cleared yet") + (d.upstream ? ` · upstream bought ${d.upstream.bought_wh} Wh, sold ${d.upstream.sold_wh} Wh` : "");
  s.dataset.interval = d.interval;
  table("market-feeders", c ? c.feeders : [], ["feeder", "local_price", "local_wh", "pool_import_wh", "pool_export_wh", "curtailed_wh"], "feeders");
  table("market-book", d.book, ["order_id", "side", "energy_wh", "limit_price", "feeder", "status"], "open orders");
  const step = (pts) => pts.map((p) => ({ x: p.wh, y: p.price }));
  chart("chart-curves", {
    type: "line",
    data: {
      datasets: [
        { label: "supply (sell limit)", data: step(d.curves.supply), stepped: true },
        { label: "demand (buy limit)", data: step(d.curves.demand), stepped: true },
      ].concat(c && c.pool_cleared ? [{ label: "clearing", data: [{ x: c.pool_wh, y: c.pool_price }], pointRadius: 6, showLine: false }] : []),
    },
    options: { scales: { x: { type: "linear", title: { display: true, text: "Wh" } }, y: { title: { display: true, text: "price per kWh" } } } },
  });
  chart("chart-day", {
    data: {
      labels: d.day.map((r) => r.interval),
      datasets: [
        { type: "line", label: "pool price", data: d.day.map((r) => r.pool_price), yAxisID: "y" },
        { type: "line", label: "max price", data: d.day.map((r) => r.max_price), yAxisID: "y" },
        { type: "line", label: "average price (volume-weighted)", data: d.day.map((r) => r.avg_price), yAxisID: "y" },
        { type: "line", label: "min price", data: d.day.map((r) => r.min_price), yAxisID: "y" },
        { type: "bar", label: "volume Wh", data: d.day.map((r) => r.total_wh), yAxisID: "wh" },
        { type: "bar", label: "upstream Wh", data: d.day.map((r) => r.upstream_wh), yAxisID: "wh" },
      ],
    },
    options: { scales: { y: { position: "left" }, wh: { position: "right" } } },
  });
}

// ---- Certificates -----------------------------------------------------------------------
async function loadCertificates(kind, value) {
  const d = await getJSON(`/api/certificates?${encodeURIComponent(kind)}=${encodeURIComponent(value)}`, "cert-error");
  if (!d) return;
  table("cert-table", d.bundles, ["bundle_id", "device_id", "hour_start", "wh", "owner", "status", "energy_source", "parent_id"], "bundles", (b) => loadLineage(b.bundle_id));
  const sources = [...new Set(d.issued_per_hour.flatMap((h) => Object.keys(h.by_source)))];
  chart("chart-issued", {
    type: "bar",
    data: {
      labels: d.issued_per_hour.map((h) => h.hour),
      datasets: sources.map((s) => ({ label: s, data: d.issued_per_hour.map((h) => h.by_source[s] || 0) })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "Wh" } } } },
  });
}

async function loadMatching(member) {
  const d = await getJSON("/api/matching?member=" + encodeURIComponent(member), "match-error", await withGrant());
  if (!d) return;
  const priv = document.getElementById("match-private");
  priv.textContent = d.private ? `${PRIVATE_NOTE} (matching and score)` : "";
  if (d.private) { document.getElementById("match-body").hidden = true; return; }
  document.getElementById("match-body").hidden = false;
  const sc = d.score;
  const score = document.getElementById("match-score");
  score.textContent = sc && sc.consumption_wh
    ? `24/7 score ${(sc.score_bp / 100).toFixed(2)} % · ${sc.matched_wh} of ${sc.consumption_wh} Wh consumed matched hour by hour over ${(sc.to_hour - sc.from_hour) / d.period_seconds} periods`
    : `24/7 score: no consumption metered over the last ${d.hours.length} periods`;
  score.dataset.scoreBp = sc ? sc.score_bp : 0;
  score.dataset.from = sc ? sc.from_hour : "";
  score.dataset.to = sc ? sc.to_hour : "";
  const period = d.period_seconds;
  const day = 24 * period;
  const first = d.hours[0].hour;
  const cells = d.hours.map((c) => ({
    x: ((c.hour - first) % day) / period, y: Math.floor((c.hour - first) / day), v: c.covered_bp / 100,
    consumption: c.consumption_wh, claimed: c.claimed_wh, hour: c.hour,
  }));
  const days = Math.ceil(d.hours.length / 24);
  chart("chart-heatmap", {
    type: "matrix",
    data: {
      datasets: [{
        label: "matched share of consumption (%)",
        data: cells,
        backgroundColor: (ctx) => {
          const c = ctx.dataset.data[ctx.dataIndex];
          if (!c || !c.consumption) return "#e5e8ec";
          return `hsl(${Math.round(1.2 * c.v)}, 70%, 50%)`;
        },
        borderColor: "#fff", borderWidth: 1,
        width: ({ chart: ch }) => (ch.chartArea ? ch.chartArea.width / 24 - 1 : 10),
        height: ({ chart: ch }) => (ch.chartArea ? ch.chartArea.height / days - 1 : 10),
      }],
    },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: () => "", label: (ctx) => {
          const c = ctx.raw;
          return `${new Date(c.hour * 1000).toISOString().slice(0, 16)} UTC: ${c.v} % (${c.claimed} Wh claimed, ${c.consumption} Wh used)`;
        } } },
      },
      scales: {
        x: {
          type: "linear", min: -0.5, max: 23.5, offset: false, title: { display: true, text: "period of the day" },
          afterBuildTicks: (axis) => { axis.ticks = [...Array(24).keys()].map((v) => ({ value: v })); },
        },
        y: {
          type: "linear", min: -0.5, max: days - 0.5, offset: false, reverse: true, title: { display: true, text: "day (0: oldest)" },
          afterBuildTicks: (axis) => { axis.ticks = [...Array(days).keys()].map((v) => ({ value: v })); },
        },
      },
    },
  });
  const box = document.getElementById("match-residual");
  box.replaceChildren();
  const regions = Object.keys(d.residual);
  if (!regions.length) box.append(el("p", { class: "empty", text: "the consumer has no site in a grid region" }));
  for (const region of regions) {
    const rows = d.residual[region];
    const id = "chart-residual-" + region.replace(/[^A-Za-z0-9_-]/g, "_");
    box.append(el("h4", { text: region }),
      el("div", { class: "chart" }, el("canvas", { id, role: "img", "aria-label": `Residual mix of grid region ${region}: issued certificates claimed, stored, revoked and unclaimed per period` })));
    chart(id, {
      type: "bar",
      data: {
        labels: rows.map((r) => new Date(r.hour_start * 1000).toISOString().slice(11, 16)),
        datasets: [
          { label: "claimed Wh", data: rows.map((r) => r.claimed_wh) },
          { label: "consumed by storage Wh", data: rows.map((r) => r.consumed_by_storage_wh) },
          { label: "revoked Wh", data: rows.map((r) => r.revoked_wh) },
          { label: "residual (unclaimed) Wh", data: rows.map((r) => r.residual_wh) },
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "Wh" } } } },
    });
  }
}

async function loadLineage(bundleId) {
  const d = await getJSON("/api/bundle/" + encodeURIComponent(bundleId), "cert-error");
  if (!d) return;
  const rows = d.chain.flatMap((h) => h.entries.map((e) => ({ bundle: h.bundle_id, ...e })));
  table("cert-lineage", rows, ["bundle", "action", "height", "wh", "from", "to", "other_bundle"], `lineage of bundle ${bundleId}`);
}

// ---- Grid -------------------------------------------------------------------------------
function flowColour(f) {
  const limit = Math.max(f.import_limit_wh, f.export_limit_wh);
  if (!f.has_limit || limit === 0) return "#5b8def";
  const used = Math.max(f.import_wh, f.export_wh) / limit;
  return used >= 1 ? "#c0392b" : used >= 0.8 ? "#e67e22" : "#27ae60";
}

function oneLine(d, interval) {
  const box = document.getElementById("grid-oneline");
  box.replaceChildren();
  const limits = new Map(d.limits.map((l) => [l.feeder, l]));
  const flows = new Map(d.flows.filter((f) => f.interval === interval).map((f) => [f.feeder, f]));
  const feeders = [...new Set([...limits.keys(), ...flows.keys()])].sort();
  const row = el("div", { class: "feeders" });
  for (const name of feeders) {
    const f = flows.get(name) || { feeder: name, import_wh: 0, export_wh: 0, curtailed_wh: 0, has_limit: false, import_limit_wh: 0, export_limit_wh: 0 };
    const l = limits.get(name);
    const then = f.has_limit ? `limits in that interval import ${f.import_limit_wh} / export ${f.export_limit_wh} Wh` : "no limit in that interval";
    const now = l ? ` · limits now import ${l.import_wh} / export ${l.export_wh} Wh` : "";
    const text = `${name}: import ${f.import_wh} Wh, export ${f.export_wh} Wh, ${then}${now}` + (f.curtailed_wh ? `, ${f.curtailed_wh} Wh curtailed` : "");
    row.append(el("div", { class: "feeder", role: "img", "aria-label": text, "data-feeder": name, "data-colour": flowColour(f) },
      el("div", { class: "line" }), el("div", { class: "label", text })));
    row.lastChild.firstChild.style.background = flowColour(f);
  }
  box.append(el("div", { class: "upstream", text: "upstream grid / substation" }), el("div", { class: "bus", role: "presentation" }), row,
    el("p", { class: "legend", text: "green: below 80 % of the feeder's limit · orange: 80-100 % · red: at its limit · blue: no limit" }));
}

async function loadGrid() {
  const d = await getJSON("/api/grid", "grid-error");
  if (!d) return;
  const intervals = [...new Set(d.flows.map((f) => f.interval))].sort((a, b) => b - a);
  const select = document.getElementById("grid-interval");
  const chosen = Number(select.value) || intervals[0];
  select.replaceChildren(...intervals.map((i) => el("option", { value: String(i), text: new Date(i * 1000).toISOString().slice(0, 16) + " UTC" })));
  if (intervals.includes(chosen)) select.value = String(chosen);
  select.onchange = () => oneLine(d, Number(select.value));
  oneLine(d, intervals.length ? Number(select.value) : null);
  table("grid-feeders", d.limits, null, "feeder limits");
  table("grid-dr", d.dr_events, null, "demand-response events");
  table(
    "grid-dr-enrolments",
    d.dr_enrolments,
    ["event_id", "device_id", "baseline_wh", "actual_wh", "reduction_wh", "claim", "reward", "measured", "settled"],
    "enrolled devices: baseline, measured use, delivered reduction and reward",
  );
  chart("chart-flows", {
    type: "bar",
    data: {
      labels: d.flows.map((f) => `${f.feeder} @${f.interval}`),
      datasets: [{
        label: "pool flow Wh (green < 80 % of limit, orange < 100 %, red at limit; blue: no limit)",
        data: d.flows.map((f) => Math.max(f.import_wh, f.export_wh)),
        backgroundColor: d.flows.map(flowColour),
      }, { label: "curtailed Wh", data: d.flows.map((f) => f.curtailed_wh) }],
    },
  });
}

// ---- live updates -----------------------------------------------------------------------
function follow(owner) {
  if (events && eventsOwner === owner) return;
  if (events) events.close();
  eventsOwner = owner;
  events = new EventSource("/api/events" + (owner ? "?owner=" + owner : ""));
  events.addEventListener("block", (e) => {
    const b = JSON.parse(e.data);
    const status = document.getElementById("status");
    status.textContent = `live · height ${b.height} · ${b.txs} txs · events from ${b.source}`;
    status.dataset.height = b.height;
    if (currentView() === "network" && Date.now() - lastNetworkLoad > 2000) loadNetwork();
  });
  events.addEventListener("signal", (e) => {
    const msg = JSON.parse(e.data);
    if (msg.signal === "alert" && owner) showLiveAlert(msg);
  });
  events.onerror = () => { document.getElementById("status").textContent = "live stream interrupted; reconnecting…"; };
}

// ---- routing ----------------------------------------------------------------------------
function currentView() {
  const v = location.hash.replace("#", "").split("?")[0];
  return VIEWS.includes(v) ? v : "network";
}

function show() {
  const v = currentView();
  for (const name of VIEWS) document.getElementById("view-" + name).hidden = name !== v;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === "#" + v) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (v === "network") loadNetwork();
  if (v === "market") loadMarket(document.getElementById("market-interval").value.trim());
  if (v === "certificates") loadCertificates(document.getElementById("cert-kind").value, document.getElementById("cert-value").value.trim());
  if (v === "grid") loadGrid();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("home-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadHome(document.getElementById("home-member").value.trim());
  });
  document.getElementById("market-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadMarket(document.getElementById("market-interval").value.trim());
  });
  document.getElementById("match-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadMatching(document.getElementById("match-member").value.trim());
  });
  document.getElementById("cert-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadCertificates(document.getElementById("cert-kind").value, document.getElementById("cert-value").value.trim());
  });
  document.getElementById("action-kind").addEventListener("change", showActionFields);
  document.getElementById("action-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showCommand();
  });
  showActionFields();
  window.addEventListener("hashchange", show);
  follow(null);
  show();
});
