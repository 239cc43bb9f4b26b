// The status page's own script and style, served by the balancer: no build
// step, no outside resource, nothing inline (CSP `default-src 'self'` works).

/**
 * Refreshes the page every few seconds from /status/data (the view, and its
 * rows rendered and escaped by the server), ticks countdowns, and says when
 * the data is stale or the balancer unreachable.
 */
export const STATUS_SCRIPT = `'use strict';
(function () {
  var root = document.getElementById('status');
  var query = Number(new URLSearchParams(location.search).get('refresh'));
  // 1 s to an hour: a larger delay overflows setTimeout's 32 bits and would fire at once, over and over.
  var every = Math.min(3600, Math.max(1, query || Number(root.dataset.refresh) || 5)) * 1000;
  var freshness = document.getElementById('freshness');
  var lastOk = Date.now();
  var failed = false;
  function fmt(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }
  function tick() {
    var times = document.querySelectorAll('time[data-until]');
    for (var i = 0; i < times.length; i++) {
      times[i].textContent = fmt(Date.parse(times[i].getAttribute('data-until')) - Date.now());
    }
    var age = Date.now() - lastOk;
    var text = failed ? 'balancer unreachable: showing data from ' + fmt(age) + ' ago'
      : age > every * 2.5 ? 'stale: last update ' + fmt(age) + ' ago' : 'updated ' + fmt(age) + ' ago';
    freshness.textContent = text;
    freshness.className = failed || age > every * 2.5 ? 'warn' : 'muted';
  }
  function refresh() {
    fetch(root.dataset.data, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (res) { if (!res.ok) throw new Error(String(res.status)); return res.json(); })
      .then(function (data) {
        document.getElementById('summary').innerHTML = data.html.summary;
        document.getElementById('keys').innerHTML = data.html.rows;
        var clients = document.getElementById('clients');
        if (clients && typeof data.html.clients === 'string') clients.innerHTML = data.html.clients;
        lastOk = Date.now();
        failed = false;
        tick();
      })
      .catch(function () { failed = true; tick(); })
      .then(function () { setTimeout(refresh, every); });
  }
  setInterval(tick, 1000);
  setTimeout(refresh, every);
  tick();
})();
`;

export const STATUS_STYLE = `:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #5f6b76;
  --line: #d8dee4; --healthy: #1a7f37; --cooling: #9a6700; --unhealthy: #cf222e; --invalid: #8250df;
  --exhausted: #bc4c00; --disabled: #57606a; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d;
  --healthy: #3fb950; --cooling: #d29922; --unhealthy: #f85149; --invalid: #a371f7; --exhausted: #f0883e;
  --disabled: #8b949e; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px; }
h1 { font-size: 20px; margin: 0 0 8px; }
.muted { color: var(--muted); }
.warn { color: var(--unhealthy); font-weight: 600; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 8px 16px;
  margin: 8px 0 16px; }
.summary div { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
dt { color: var(--muted); font-size: 13px; } dd { margin: 2px 0 0; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.state-healthy { color: var(--healthy); } .state-cooling { color: var(--cooling); }
.state-unhealthy { color: var(--unhealthy); } .state-invalid { color: var(--invalid); }
.state-exhausted { color: var(--exhausted); } .state-disabled { color: var(--disabled); }
progress { width: 90px; vertical-align: middle; }
@media (max-width: 700px) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: 10px; padding: 6px 0; }
  td { border: 0; padding: 3px 12px; }
  td::before { content: attr(data-h) ": "; color: var(--muted); font-size: 13px; }
}
`;
