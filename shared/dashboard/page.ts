/**
 * The operator dashboard: one HTML page plus two assets (script, stylesheet) compiled into the app, so the deployed
 * package serves it with no CDN, web font or third-party script. The page carries no data and no key: its script reads
 * the admin key from the address (?code=) and sends it in x-functions-key on every API call.
 */
import { createHash } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import { DASHBOARD_JS } from './script';
import { DASHBOARD_CSS } from './styles';

interface Asset {
  contentType: string;
  body: string;
  version: string;
}

function asset(contentType: string, body: string): Asset {
  return { contentType, body, version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

const ASSETS: Record<string, Asset> = {
  'dashboard.js': asset('text/javascript; charset=utf-8', DASHBOARD_JS),
  'dashboard.css': asset('text/css; charset=utf-8', DASHBOARD_CSS),
};

/**
 * Only this app's own files: no inline script or style (the script sets element.style through the CSSOM, which CSP
 * allows), nothing framed, no form posts, and the page's address (with the key in it) never sent as a referrer.
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

function assetUrl(name: string): string {
  // Relative to /api/dashboard, so it follows the host's route prefix; the version makes long caching safe.
  return `dashboard/assets/${name}?v=${ASSETS[name]!.version}`;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>longhaul · operations</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetUrl('dashboard.css')}">
<script src="${assetUrl('dashboard.js')}" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo"></span>longhaul <span class="muted">operations</span></div>
  <div class="live" id="live"><span class="dot"></span><span id="live-text">connecting…</span></div>
</header>
<main>
  <section class="cards" id="cards" aria-label="Jobs by status and queue depth"></section>
  <section class="grid2">
    <div class="panel chart-panel">
      <div class="panel-head"><h2>Throughput <span class="muted">last 60 minutes</span></h2><span class="muted" id="throughput-total"></span></div>
      <div class="chart" id="chart"></div>
      <div class="legend"><span class="l-completed">completed</span><span class="l-failed">failed</span></div>
    </div>
    <div class="panel">
      <div class="panel-head"><h2>Jobs by kind</h2><span class="muted mono" id="queue-names"></span></div>
      <div class="table-wrap"><table class="compact" id="kind-table"></table></div>
    </div>
  </section>
  <section class="panel">
    <div class="panel-head">
      <h2>Jobs</h2>
      <form class="filters" id="filters" role="search">
        <select id="filter-status" aria-label="Status"></select>
        <select id="filter-kind" aria-label="Kind"><option value="">All kinds</option></select>
        <input id="filter-user" placeholder="user id (uuid)" aria-label="User id" autocomplete="off" spellcheck="false">
        <button type="button" id="filter-clear">Clear</button>
      </form>
    </div>
    <div class="table-wrap">
      <table class="jobs">
        <thead><tr><th>Job</th><th>Kind</th><th>User</th><th>Status</th><th>Progress</th><th class="num">Attempt</th><th>Created</th><th class="num">Run time</th><th></th></tr></thead>
        <tbody id="jobs-body"></tbody>
      </table>
      <div class="empty" id="jobs-empty" hidden>No jobs match these filters.</div>
    </div>
  </section>
  <section class="grid2 even">
    <div class="panel"><h2>Provider usage by kind</h2><div class="table-wrap"><table class="compact" id="usage-table"></table></div></div>
    <div class="panel"><h2>Shared rate limiter</h2><div class="table-wrap"><table class="compact" id="limiter-table"></table></div></div>
  </section>
</main>
<aside class="drawer" id="drawer" hidden aria-label="Job detail"><div id="detail"></div></aside>
<div class="toast" id="toast" role="status" hidden></div>
</body>
</html>
`;

export function dashboardPage(): HttpResponseInit {
  return { status: 200, body: PAGE, headers: { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } };
}

/** A bundled asset by name, or undefined. Assets hold code only (no data, no key), so they need no key to load. */
export function dashboardAsset(name: string): HttpResponseInit | undefined {
  const found = Object.prototype.hasOwnProperty.call(ASSETS, name) ? ASSETS[name] : undefined;
  if (!found) return undefined;
  return { status: 200, body: found.body, headers: { ...SECURITY_HEADERS, 'content-type': found.contentType, 'cache-control': 'public, max-age=86400' } };
}
