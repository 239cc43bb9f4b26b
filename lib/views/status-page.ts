// GET /status: one self-contained HTML page, rendered on the server so it shows
// the pool with scripts off; its script and style are served by the balancer
// itself (no CDN, nothing inline), so it works under `default-src 'self'`.
import type { StatusKey, StatusView } from './status-view.js';
import { SHOWN_STATES } from './status-view.js';
import { renderModels } from './model-status.js';

/** Escapes text for HTML: labels and account names are user-supplied. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "4m 10s", "2h 5m": a wait, for countdowns. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

const UNTIL_WORDS = { cooldown: 'back in', trial: 'trial in', reset: 'resets in' } as const;
/** How a used-up allowance is known, as the wait column says it. */
const SOURCE_WORDS = {
  counters: 'counters at 0',
  answer: 'ModelScope said so',
  inferred: 'inferred from 429s',
  balance: 'balance at 0',
} as const;

function countdown(words: string, at: string, now: number): string {
  return `${words} <time data-until="${html(at)}">${duration(Date.parse(at) - now)}</time>`;
}

/** Escapes any value for HTML text or a quoted attribute. */
const html = (value: unknown): string => escapeHtml(String(value));

/**
 * One key's row. Everything in it may come from another replica through the store (state, times, figures, the
 * error's reason) and is escaped, whatever the store's check let through; a state outside the known ones gets no
 * class of its own.
 */
function keyRow(key: StatusKey, now: number): string {
  let quota = `<span class="muted">${html(key.successes_today)} served today</span>`;
  if (key.quota && key.quota.remaining !== null) {
    const { remaining, limit } = key.quota;
    const figures = limit !== null ? `${html(remaining)} / ${html(limit)}` : html(remaining);
    quota =
      `<progress max="${html(limit ?? remaining)}" value="${html(remaining)}"></progress> ` + `<span>${figures}</span>`;
  } else if (key.balance !== null) {
    quota = `balance ${html(key.balance)} <span class="muted">· ${html(key.successes_today)} served today</span>`;
  }
  let until = key.until && key.until_kind ? countdown(UNTIL_WORDS[key.until_kind], key.until, now) : '';
  if (key.exhaustion) {
    const trial = key.exhaustion.next_trial_at;
    until +=
      (trial && Date.parse(trial) > now ? ` · ${countdown('trial in', trial, now)}` : '') +
      ` <span class="muted">(${html(SOURCE_WORDS[key.exhaustion.source] ?? key.exhaustion.source)})</span>`;
  }
  const error = key.last_error
    ? `${html(key.last_error.reason)} <time class="muted" ` +
      `datetime="${html(key.last_error.at)}">${html(key.last_error.at.slice(11, 19))}</time>`
    : '';
  const state = SHOWN_STATES.includes(key.state) ? key.state : 'unknown';
  return (
    `<tr data-label="${html(key.label)}"><td data-h="key">${html(key.label)}</td>` +
    `<td data-h="state"><span class="badge state-${state}">${html(key.state)}</span></td>` +
    `<td data-h="requests">${html(key.requests)}</td><td data-h="in flight">${html(key.in_flight)}</td>` +
    `<td data-h="quota">${quota}</td><td data-h="wait">${until}</td><td data-h="last error">${error}</td></tr>`
  );
}

function summary(view: StatusView): string {
  const s = view.summary;
  const counts = SHOWN_STATES.filter((state) => s.states[state] > 0)
    .map((state) => `<span class="badge state-${state}">${s.states[state]} ${state}</span>`)
    .join(' ');
  const estimated =
    s.quota_basis === 'observed' || s.quota_basis === 'both' ? ' (estimated from days seen to run out)' : '';
  const quota =
    s.quota_left === null
      ? 'unknown'
      : `${s.quota_left}${s.quota_limit !== null ? ` of ${s.quota_limit}` : ''}${estimated}`;
  const dry = s.runs_dry_at
    ? `runs dry at <time datetime="${s.runs_dry_at}">${s.runs_dry_at.slice(11, 16)} UTC</time>`
    : 'lasts until the reset';
  return (
    `<dl class="summary">` +
    `<div><dt>Keys</dt><dd id="states">${s.total} · ${counts}</dd></div>` +
    `<div><dt>Requests</dt><dd id="requests">${s.requests_last_minute} last minute · ${s.requests_today} ` +
    `today</dd></div>` +
    `<div><dt>Quota left today</dt><dd id="quota">${quota}</dd></div>` +
    `<div><dt>Forecast</dt><dd id="forecast">${s.per_minute_last_15}/min over 15 min: ${dry}; resets at <time ` +
    `datetime="${s.resets_at}">${s.resets_at.slice(11, 16)} UTC</time></dd></div>` +
    renderModels(view) +
    `</dl>`
  );
}

export function renderStatusPage(view: StatusView, base: string, refreshSeconds: number, clients = ''): string {
  const now = Date.parse(view.generated_at);
  const rows = view.keys.map((key) => keyRow(key, now)).join('');
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, " +
      "initial-scale=1"><meta name="color-scheme" content="light dark">` +
    `<title>modelscope-balance status</title><link rel="stylesheet" ` +
    `href="${escapeHtml(base)}/status/style.css"></head>` +
    `<body><main id="status" data-data="${escapeHtml(base)}/status/data" data-refresh="${refreshSeconds}">` +
    `<header><h1>modelscope-balance</h1><p id="freshness" class="muted">updated <time ` +
    `datetime="${view.generated_at}">${view.generated_at.slice(11, 19)} UTC</time></p></header>` +
    `<section id="summary">${summary(view)}</section>` +
    `<table><thead><tr><th>key</th><th>state</th><th>requests</th><th>in flight</th><th>quota ` +
    `left</th><th>wait</th><th>last error</th></tr></thead>` +
    `<tbody id="keys">${rows}</tbody></table>` +
    `<section id="clients">${clients}</section>` +
    `<noscript><p class="muted">Scripts are off: reload the page to refresh.</p></noscript>` +
    `</main><script src="${escapeHtml(base)}/status/app.js" defer></script></body></html>`
  );
}

export { keyRow as renderKeyRow, summary as renderSummary };
