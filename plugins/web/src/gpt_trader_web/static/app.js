"use strict";
// The dashboard: one GET of /api/v1/dashboard, then Server-Sent Events with the same shape.
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "gpt-trader-token";

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  return td;
}

function fill(tableId, rows, columns) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.key = columns.map((c) => (typeof c === "function" ? "" : row[c])).join("|");
    tr.append(...columns.map((c) => cell(typeof c === "function" ? c(row) : row[c])));
    return tr;
  }));
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell("none");
    td.colSpan = columns.length;
    tr.append(td);
    body.append(tr);
  }
}

function render(d) {
  const s = d.state;
  $("run").textContent = s.run_id ? `${s.profile} · ${s.mode} · ${s.running ? "running" : "stopped"}` : "no run yet";
  const shown = s.entries_paused && s.trading_state === "ACTIVE" ? "PAUSED" : s.trading_state;
  $("state").textContent = shown;
  $("state").className = `pill ${shown}`;
  $("banners").replaceChildren(...s.banners.map((b) => {
    const div = document.createElement("div");
    div.className = `banner ${b.level}`;
    div.textContent = b.text;
    return div;
  }));
  $("equity").textContent = d.pnl.equity ?? "—";
  $("equity-at").textContent = d.pnl.equity_at ? `as of ${d.pnl.equity_at.slice(11, 19)} UTC` : "";
  $("net").textContent = d.pnl.totals.net ?? "—";
  $("exposure").textContent = d.pnl.exposure;
  $("fill-count").textContent = d.fill_count;
  fill("positions", d.positions, ["symbol", "size", "account", "avg_entry", "mark", "unrealized", "realized", "stop", "target"]);
  fill("orders", d.orders, ["client_order_id", "symbol", "side", "size", "price", "stop", "tag", "status", "filled", (o) => `${Math.round(o.age_s)}s`]);
  fill("fills", d.fills, ["time", "symbol", "side", "size", "price", "fee"]);
  fill("days", d.pnl.by_day, ["day", "symbol", "realized", "fees", "net", "fills"]);
  fill("trips", d.trips, ["time", "guard", "severity", "message"]);
  fill("alerts", d.alerts, ["when", "severity", "source", "message"]);
  fill("freshness", d.freshness, ["symbol", "price", "age_s", "level"]);
  fill("runs", d.runs, ["run_id", "profile", "mode", "started", "stopped", "stop_reason"]);
  chart(d.pnl.series);
}

function chart(series) {
  if (!window.Plotly) return;
  const trace = { y: series, type: "scatter", mode: "lines", line: { color: "#3fb950" } };
  const layout = {
    margin: { l: 50, r: 10, t: 10, b: 30 }, paper_bgcolor: "#0f1419", plot_bgcolor: "#0f1419",
    font: { color: "#e6e6e6" }, xaxis: { title: "fill #" }, yaxis: { title: "net P&L" },
  };
  window.Plotly.react("chart", [trace], layout, { displayModeBar: false, responsive: true });
}

function authHeaders() {
  const token = $("token").value.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function control(action) {
  const out = $("control-result");
  const reason = $("reason").value.trim() || `${action} from the web dashboard`;
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  try {
    const resp = await fetch(`/api/v1/control/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify({ reason }),
    });
    const body = await resp.json();
    out.className = resp.ok ? "ok" : "error";
    out.textContent = resp.ok ? `${action} recorded (#${body.id}); the bot applies it on its next poll` : `${resp.status}: ${body.error}`;
  } catch (err) {
    out.className = "error";
    out.textContent = `${action} failed: ${err}`;
  }
}

async function refresh() {
  const resp = await fetch("/api/v1/dashboard", { headers: authHeaders() });
  if (resp.ok) {
    render(await resp.json());
    return true;
  }
  $("live").textContent = resp.status === 401 ? "token needed" : `error ${resp.status}`;
  $("live").className = "pill down";
  return false;
}

async function start() {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  const server = await (await fetch("/api/v1/server")).json();
  if (server.read_only) {
    $("controls").remove();
  } else {
    document.querySelectorAll("button[data-action]").forEach((b) => {
      b.addEventListener("click", () => control(b.dataset.action));
    });
  }
  await refresh();
  if (server.locked_reads) {
    // EventSource cannot send the token: poll with it instead.
    setInterval(refresh, 2000);
    return;
  }
  const events = new EventSource("/api/v1/stream");
  events.onmessage = (e) => {
    $("live").textContent = "live";
    $("live").className = "pill live";
    render(JSON.parse(e.data));
  };
  events.onerror = () => {
    $("live").textContent = "reconnecting";
    $("live").className = "pill down";
  };
}

document.addEventListener("DOMContentLoaded", start);
