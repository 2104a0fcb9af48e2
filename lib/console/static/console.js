// urocket's console: renders the state that /api/events streams. Plain DOM, no framework; text
// from urocket (paths, stderr lines) is only ever set as textContent.
"use strict";

const RECENT_MAX = 100;
const recent = [];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== undefined && child !== null) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.floor(value / 60_000)} min ${Math.round((value % 60_000) / 1000)} s`;
}

function kb(value) {
  if (value === null || value === undefined) return "–";
  return value < 10_240 ? `${value} KiB` : `${(value / 1024).toFixed(1)} MiB`;
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

function cell(text, className, col) {
  return el("td", { class: className, "data-col": col }, text);
}

function renderStatus(status) {
  document.getElementById("version").textContent = status.version;
  const reload = status.lastReload;
  const items = [
    ["uptime", duration(status.uptimeS)],
    ["config generation", status.generation],
    ["spawn mode", status.spawnMode],
    ["stats at exit", status.statsSource],
    ["in flight", `${status.inflight} (processes ${status.processes}, max ${status.maxInflight})`],
    ["operations", status.operations],
    ["front", status.listen],
    [
      "last reload",
      reload
        ? `${reload.outcome} at ${new Date(reload.at).toLocaleTimeString()}` +
          (reload.problems.length ? `: ${reload.problems.join("; ")}` : "")
        : "none",
    ],
    ["log lines dropped", status.logLinesDropped],
    ["pid", status.pid],
  ];
  const list = document.getElementById("status");
  list.replaceChildren(
    ...items.map(([name, value]) =>
      el("div", { "data-key": name }, el("dt", {}, name), el("dd", {}, value))
    ),
  );
}

function renderInflight(rows) {
  const body = document.querySelector("#inflight tbody");
  body.replaceChildren(...rows.map((row) =>
    el(
      "tr",
      { "data-req-id": row.reqId, "data-state": row.state },
      el("td", { class: "id", title: row.reqId, "data-col": "reqId" }, row.reqId.slice(0, 8)),
      cell(row.operation, "mono", "operation"),
      cell(`${row.method} ${row.path}`, "path", "request"),
      cell(ms(row.ageMs), "", "age"),
      cell(row.pid ?? "–", "", "pid"),
      el(
        "td",
        { "data-col": "state" },
        el("span", { class: "state", "data-state": row.state }, row.state),
      ),
      cell(row.cpuMs === null ? "–" : ms(row.cpuMs), "", "cpu"),
      cell(kb(row.rssKb), "", "rss"),
    )
  ));
  document.getElementById("inflight-count").textContent = rows.length ? `(${rows.length})` : "";
  document.getElementById("inflight-empty").hidden = rows.length > 0;
}

function stderrCell(stderr) {
  const node = el("td", { class: "stderr", "data-col": "stderr" });
  if (stderr.lines === 0) return node;
  const hidden = stderr.lines - stderr.first.length - stderr.last.length;
  node.append(stderr.first.join("\n"));
  if (hidden > 0) node.append(el("div", { class: "gap" }, `… ${hidden} more lines …`));
  if (stderr.last.length) node.append((hidden > 0 ? "" : "\n") + stderr.last.join("\n"));
  return node;
}

function exitText(row) {
  if (row.signal) return row.killReason ? `${row.signal} (${row.killReason})` : row.signal;
  if (row.exitCode !== null) return `exit ${row.exitCode}`;
  return "–";
}

function renderRecent(rows) {
  for (const row of rows) recent.unshift(row);
  recent.splice(RECENT_MAX);
  const body = document.querySelector("#recent tbody");
  body.replaceChildren(...recent.map((row) =>
    el(
      "tr",
      { "data-req-id": row.reqId, "data-outcome": row.outcome },
      cell(new Date(row.finishedAt).toLocaleTimeString(), "", "finished"),
      el("td", { class: "id", title: row.reqId, "data-col": "reqId" }, row.reqId.slice(0, 8)),
      cell(row.operation ?? "–", "mono", "operation"),
      cell(`${row.method} ${row.path}`, "path", "request"),
      cell(row.status, `status-${String(row.status)[0]}`, "status"),
      cell(row.outcome, "", "outcome"),
      cell(ms(row.durationMs), "", "duration"),
      cell(row.pid ?? "–", "", "pid"),
      cell(exitText(row), "", "exit"),
      cell(row.cpuMs === null ? "–" : ms(row.cpuMs), "", "cpu"),
      cell(kb(row.maxRssKb), "", "peakMemory"),
      stderrCell(row.stderr),
    )
  ));
  document.getElementById("recent-empty").hidden = recent.length > 0;
}

const SVG = "http://www.w3.org/2000/svg";

function sparkline(label, values, className, format) {
  const width = 200;
  const height = 28;
  const numbers = values.map((v) => v ?? 0);
  const max = Math.max(...numbers, 1e-9);
  const step = width / Math.max(values.length - 1, 1);
  const points = numbers.map((v, i) =>
    `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`
  ).join(" ");
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${label}, highest ${format(max)}`);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points);
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return el("div", { class: `chart ${className}` }, el("span", {}, label), svg, format(max));
}

function renderOperations(operations) {
  const box = document.getElementById("operations");
  box.replaceChildren(...operations.map((op) =>
    el(
      "div",
      { class: "operation", "data-operation": op.operation },
      el("h3", {}, op.operation),
      el(
        "div",
        { class: "figures" },
        el("span", {}, "req/s ", el("b", { "data-figure": "rps" }, op.rps.toFixed(2))),
        el("span", {}, "p50 ", el("b", { "data-figure": "p50" }, `≤ ${ms(op.p50)}`)),
        el("span", {}, "p99 ", el("b", { "data-figure": "p99" }, `≤ ${ms(op.p99)}`)),
        el(
          "span",
          {},
          "errors ",
          el("b", { "data-figure": "errors" }, `${(op.errorShare * 100).toFixed(1)} %`),
        ),
      ),
      sparkline("req/s", op.series.rps, "rps", (v) => v.toFixed(1)),
      sparkline("p99", op.series.p99, "latency", ms),
      sparkline("5xx", op.series.errors, "errors", (v) => String(Math.round(v))),
    )
  ));
  document.getElementById("operations-empty").hidden = operations.length > 0;
}

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/api/events");
  events.addEventListener("state", (message) => {
    const state = JSON.parse(message.data);
    connection.dataset.state = "live";
    connection.textContent = "live";
    renderStatus(state.status);
    renderInflight(state.inflight);
    if (state.recent.length) renderRecent(state.recent);
    renderOperations(state.operations);
  });
  events.addEventListener("open", () => {
    // A new stream sends the whole ring again.
    recent.length = 0;
  });
  events.addEventListener("error", () => {
    connection.dataset.state = "lost";
    connection.textContent = "reconnecting…";
  });
}

connect();
