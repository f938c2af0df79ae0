// The observer page: one HTML document with its CSS and script inline, no
// build step, nothing loaded from anywhere else. The script opens the
// Server-Sent Events stream at `events` (with the page's own `?token=`) and
// redraws the tree from each snapshot.
//
// The script is written without template literals, so it can sit inside this
// one; every string from the service is escaped before it reaches the DOM.

const STYLE = `
:root { color-scheme: light dark; --bg: #f7f7f5; --fg: #1d1d1f; --muted: #6b6b70; --line: #d8d8dc;
  --card: #ffffff; --ok: #1f8a4c; --warn: #b26b00; --bad: #c0392b; --accent: #2f6fdf; }
@media (prefers-color-scheme: dark) { :root { --bg: #161618; --fg: #e8e8ea; --muted: #9a9aa2;
  --line: #33333a; --card: #1f1f23; --ok: #3fbf74; --warn: #e0a030; --bad: #ff6b5b;
  --accent: #6aa0ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: baseline; padding: 12px 18px;
  border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 16px; margin: 0; }
header .fig { color: var(--muted); margin-right: 14px; }
header .fig b { color: var(--fg); font-weight: 600; }
#conn { margin-left: auto; font-weight: 600; }
#conn.live { color: var(--ok); } #conn.lost { color: var(--warn); } #conn.ended { color: var(--muted); }
#banner { display: none; padding: 8px 18px; background: var(--warn); color: #fff; font-weight: 600; }
#banner.show { display: block; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 420px; gap: 16px; padding: 16px 18px; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  min-width: 0; }
section + section { margin-top: 16px; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 2px 0 8px; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 2px 8px;
  border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 3px 8px; white-space: nowrap; border-bottom: 1px solid transparent; }
tr.actor:hover td, tr.supervisor:hover td { background: color-mix(in srgb, var(--accent) 8%, transparent); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.guide { font-family: ui-monospace, "SF Mono", Menlo, monospace; color: var(--muted); white-space: pre;
  opacity: .6; }
.name { font-weight: 600; }
tr.supervisor .name { font-weight: 700; }
.kind { color: var(--muted); font-size: 12px; margin-left: 6px; }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11px; font-weight: 600;
  border: 1px solid currentColor; }
.s-running { color: var(--ok); } .s-starting, .s-restarting, .s-stopping { color: var(--warn); }
.s-crashed, .s-gaveup { color: var(--bad); } .s-stopped, .s-down { color: var(--muted); }
.gaveup { background: var(--bad); color: #fff; border-color: var(--bad); margin-left: 8px; }
.gaveup.restarted { background: transparent; color: var(--bad); }
.muted { color: var(--muted); }
svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
svg.spark path { fill: color-mix(in srgb, var(--accent) 18%, transparent); stroke: none; }
svg.bar .bg { fill: var(--line); } svg.bar .fg { fill: var(--accent); } svg.bar .fg.full { fill: var(--bad); }
.restarts.bump { animation: bump 1.2s ease-out; }
@keyframes bump { from { background: var(--bad); color: #fff; } to { background: transparent; } }
.crash { border-left: 3px solid var(--bad); padding: 4px 8px; margin: 0 0 8px; }
.crash .head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.crash .msg { color: var(--bad); font-weight: 600; word-break: break-word; }
.crash pre { margin: 4px 0 0; padding: 6px 8px; background: var(--bg); border-radius: 4px; overflow-x: auto;
  font: 11.5px/1.4 ui-monospace, "SF Mono", Menlo, monospace; max-height: 220px; }
.crash summary { cursor: pointer; color: var(--muted); font-size: 12px; }
#events div { font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#events .t-crashed, #events .t-gave-up { color: var(--bad); }
#events .t-restarted { color: var(--warn); }
.empty { color: var(--muted); font-style: italic; }
#nats.none { display: none; } #nats { margin-top: 14px; }
`;

const SCRIPT = `
"use strict";
var $ = function (id) { return document.getElementById(id); };
var shownCrashes = new Set();
var lastRestarts = {};
var ended = false;

function esc(value) {
  return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}
function count(n) { return Math.round(n).toLocaleString("en-US"); }
function rate(n) { return n === 0 ? "0" : n < 10 ? n.toFixed(1) : count(n); }
function clock(t) { return new Date(t).toLocaleTimeString("en-GB", { hour12: false }) + "." +
  String(t % 1000).padStart(3, "0"); }
function duration(ms) {
  var s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
}

function sparkline(history) {
  var w = 120, h = 22, n = 60;
  var max = Math.max(1, Math.max.apply(null, history.concat([0])));
  var step = w / (n - 1), start = (n - history.length) * step;
  var pts = history.map(function (v, i) {
    return (start + i * step).toFixed(1) + "," + (h - 1 - (v / max) * (h - 3)).toFixed(1);
  });
  var line = pts.length > 1 ? pts.join(" ") : "";
  var area = pts.length > 1 ? "M" + pts[0].split(",")[0] + "," + h + " L" + pts.join(" L") + " L" +
    pts[pts.length - 1].split(",")[0] + "," + h + " Z" : "";
  return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h +
    '" aria-label="messages per second, last 30 s"><path d="' + area + '"/><polyline points="' +
    line + '"/></svg>';
}

function bar(depth, capacity) {
  var w = 56, fill = capacity > 0 ? Math.min(w, Math.round((depth / capacity) * w)) : 0;
  return '<svg class="bar" width="' + w + '" height="8"><rect class="bg" width="' + w +
    '" height="8" rx="2"/><rect class="fg' + (capacity > 0 && depth >= capacity ? " full" : "") +
    '" width="' + fill + '" height="8" rx="2"/></svg>';
}

function rows(snap) {
  var out = [];
  function walk(id, prefix, last, depth) {
    var guide = depth === 0 ? "" : prefix + (last ? "\\u2514\\u2500 " : "\\u251c\\u2500 ");
    var next = depth === 0 ? "" : prefix + (last ? "   " : "\\u2502  ");
    var sup = snap.supervisors[id];
    if (sup) {
      var gave = sup.gaveUp ? '<span class="pill gaveup' + (sup.gaveUp.restarted ? " restarted" : "") +
        '" data-field="gave-up" title="' + esc(sup.gaveUp.message) + '">GAVE UP ' +
        esc(clock(sup.gaveUp.time)) + (sup.gaveUp.restarted ? ", restarted since" : "") + "</span>" : "";
      out.push('<tr class="supervisor" data-supervisor="' + esc(id) + '" data-state="' +
        esc(sup.state || "") + '"' +
        (sup.gaveUp ? ' data-gave-up="true"' : "") + '><td colspan="9"><span class="guide">' +
        esc(guide) + '</span><span class="name">' + esc(id) + '</span><span class="kind">supervisor' +
        (sup.strategy ? " \\u00b7 " + esc(sup.strategy) : "") + (sup.restarts ? " \\u00b7 restarted " +
        sup.restarts + "\\u00d7" : "") + "</span>" + (sup.state && sup.state !== "running" &&
          !sup.gaveUp ? ' <span class="pill s-' + esc(sup.state) + '" data-field="state">' +
          esc(sup.state) + "</span>" : "") + gave + "</td></tr>");
      sup.children.forEach(function (child, i) {
        walk(child, next, i === sup.children.length - 1, depth + 1);
      });
      return;
    }
    var a = snap.actors[id];
    if (!a) return;
    var bumped = lastRestarts[id] !== undefined && a.restarts > lastRestarts[id];
    lastRestarts[id] = a.restarts;
    out.push('<tr class="actor" data-actor="' + esc(id) + '" data-state="' + esc(a.state) + '">' +
      '<td><span class="guide">' + esc(guide) + '</span><span class="name">' + esc(id) + "</span></td>" +
      '<td><span class="pill s-' + esc(a.state) + '" data-field="state">' + esc(a.state) + "</span></td>" +
      '<td data-field="host">' + esc(a.host) + "</td>" +
      '<td data-field="transport">' + esc(a.transport) + "</td>" +
      '<td data-field="pid" class="num">' + (a.pid == null ? '<span class="muted">worker</span>' : esc(a.pid)) +
      "</td>" +
      '<td class="num"><span data-field="mailbox">' + count(a.mailbox) + "/" + count(a.capacity) +
      "</span> " + bar(a.mailbox, a.capacity) + "</td>" +
      '<td class="num"><span data-field="rate">' + rate(a.rate) + "</span>/s</td>" +
      "<td>" + sparkline(a.history) + "</td>" +
      '<td class="num"><span class="restarts' + (bumped ? " bump" : "") + '" data-field="restarts">' +
      count(a.restarts) + "</span>" + (a.crashes ? ' <span class="muted" data-field="crashes">(' +
      a.crashes + " crash" + (a.crashes === 1 ? "" : "es") + ")</span>" : "") + "</td></tr>");
  }
  snap.roots.forEach(function (id, i) { walk(id, "", i === snap.roots.length - 1, 0); });
  return out.join("");
}

function crashNode(c, open) {
  var el = document.createElement("div");
  el.className = "crash";
  el.setAttribute("data-crash", c.id);
  el.innerHTML = '<div class="head"><span class="muted">' + esc(clock(c.time)) + '</span><b>' +
    esc(c.id) + "</b>" + (c.supervisor ? '<span class="muted">under ' + esc(c.supervisor) + "</span>" : "") +
    '<span class="muted">' + esc(c.reason) + "</span></div>" +
    '<div class="msg">' + esc((c.name ? c.name + ": " : "") + (c.message == null ? "(no error)" : c.message)) +
    "</div>" + (c.handling.length ? '<div class="muted">while handling ' + esc(c.handling.join(", ")) +
    "</div>" : "") + (c.stack ? "<details" + (open ? " open" : "") + "><summary>stack</summary><pre>" +
    esc(c.stack) + "</pre></details>" : "");
  return el;
}

function natsRows(nodes) {
  var out = [];
  nodes.forEach(function (n) {
    out.push('<tr class="nats-node" data-node="' + esc(n.name) + '"><td colspan="8"><span class="name">' +
      esc(n.name) + '</span><span class="kind">' + esc(n.namespace) + " \u00b7 " +
      (n.connected ? esc(n.server) : "disconnected") + (n.disconnects ? " \u00b7 dropped " +
      n.disconnects + "\u00d7" : "") + '</span> <span class="pill ' + (n.connected ? "s-running" :
      "s-crashed") + '" data-field="connected">' + (n.connected ? "connected" : "down") +
      "</span></td></tr>");
    n.exposed.forEach(function (e) {
      var own = e.actorConnection;
      out.push('<tr class="nats-name" data-node="' + esc(n.name) + '" data-name="' + esc(e.name) + '">' +
        '<td><span class="guide">  </span><span class="name">' + esc(e.name) + '</span>' +
        '<span class="kind">' + esc(e.target) + "</span></td>" +
        '<td data-field="served-in">' + esc(e.servedIn) + (own && !own.connected ?
        ' <span class="muted">(its connection is down)</span>' : "") + "</td>" +
        '<td class="num" data-field="requests">' + count(e.received) + "</td>" +
        '<td class="num" data-field="replied">' + count(e.replied) + "</td>" +
        '<td class="num" data-field="told">' + count(e.told) + "</td>" +
        '<td class="num" data-field="failed">' + count(e.failed + e.deadLetters + e.badRequests) + "</td>" +
        '<td class="num" data-field="dropped">' + count(e.dropped) + "</td>" +
        '<td class="num" data-field="pending">' + count(e.pending) + "</td></tr>");
    });
  });
  return out.join("");
}

function render(snap) {
  var s = snap.service, st = snap.stats;
  var restarts = 0, crashes = 0;
  Object.keys(snap.actors).forEach(function (k) {
    restarts += snap.actors[k].restarts; crashes += snap.actors[k].crashes;
  });
  $("service").textContent = s.name;
  $("figures").innerHTML = [
    ["pid", s.pid], ["state", s.state], ["up", duration(s.uptimeMs)], ["actors", st.actors],
    ["supervisors", st.supervisors], ["restarts", restarts], ["crashes", crashes],
    ["dead letters", st.deadLetters]
  ].map(function (f) {
    return '<span class="fig">' + esc(f[0]) + ' <b data-figure="' + esc(f[0]) + '">' + esc(f[1]) +
      "</b></span>";
  }).join("");
  $("tree").innerHTML = rows(snap) || '<tr><td class="empty" colspan="9">no actors yet</td></tr>';
  var nats = snap.nats || [];
  $("nats").className = nats.length ? "" : "none";
  $("nats-rows").innerHTML = natsRows(nats);
  var list = $("crashes");
  snap.crashes.forEach(function (c) {
    if (shownCrashes.has(c.seq)) return;
    shownCrashes.add(c.seq);
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    Array.prototype.forEach.call(list.querySelectorAll("details[open]"), function (d) { d.open = false; });
    list.insertBefore(crashNode(c, true), list.firstChild);
  });
  $("events").innerHTML = snap.events.slice(-25).reverse().map(function (e) {
    return '<div class="t-' + esc(e.type) + '"><span class="muted">' + esc(clock(e.time)) + "</span> " +
      esc(e.type) + " <b>" + esc(e.id) + "</b> " + '<span class="muted">' + esc(e.detail) + "</span></div>";
  }).join("") || '<div class="empty">none yet</div>';
  document.title = s.name + " \\u00b7 troupe observer";
  if (s.state === "stopping" || s.state === "stopped") {
    $("banner").textContent = "The service is " + s.state + "; this is its last picture.";
    $("banner").className = "show";
  }
}

var source = new EventSource("events" + location.search);
source.addEventListener("snapshot", function (event) {
  var snap = JSON.parse(event.data);
  window.__snapshot = snap;
  window.__updates = (window.__updates || 0) + 1;
  render(snap);
  if (snap.service.state === "stopped") { ended = true; source.close(); setConn("ended", "stopped"); }
  else setConn("live", "live");
});
source.onerror = function () {
  if (ended) return;
  if (source.readyState === EventSource.CLOSED) {
    setConn("lost", "disconnected");
  } else setConn("lost", "reconnecting\\u2026");
};
function setConn(cls, text) { $("conn").className = cls; $("conn").textContent = "\\u25cf " + text; }
`;

/** The observer page, with `nonce` on its inline style and script (the CSP allows only those). */
export function observerPage(nonce: string, metrics: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>troupe observer</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>troupe observer \u00b7 <span id="service">\u2026</span></h1>
  <span id="figures"></span>
  ${metrics ? '<span class="fig">metrics <b>/metrics</b></span>' : ""}
  <span id="conn" class="lost">\u25cf connecting\u2026</span>
</header>
<div id="banner"></div>
<main>
  <section>
    <h2>Supervision tree</h2>
    <table>
      <thead><tr><th>actor</th><th>state</th><th>host</th><th>transport</th><th class="num">pid</th>
      <th class="num">mailbox</th><th class="num">msg/s</th><th>last 30 s</th><th class="num">restarts</th></tr></thead>
      <tbody id="tree"></tbody>
    </table>
    <div id="nats" class="none">
      <h2>NATS</h2>
      <table>
        <thead><tr><th>name</th><th>served in</th><th class="num">requests</th><th class="num">replied</th>
        <th class="num">told</th><th class="num">errors</th><th class="num">dropped</th>
        <th class="num">pending</th></tr></thead>
        <tbody id="nats-rows"></tbody>
      </table>
    </div>
  </section>
  <div>
    <section>
      <h2>Crashes</h2>
      <div id="crashes"><div class="empty">none yet</div></div>
    </section>
    <section>
      <h2>Events</h2>
      <div id="events"></div>
    </section>
  </div>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
