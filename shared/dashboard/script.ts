/**
 * The dashboard's browser code (plain JS, served from /api/dashboard/assets under a 'self'-only CSP). It polls the
 * API with the admin key it was opened with (?code=), sent only in the x-functions-key header, and builds the page
 * with DOM calls and textContent only, so job data (errors, inputs users wrote) can never become markup.
 */
import { JOB_STATUSES } from '../jobs/job';

export const DASHBOARD_JS = String.raw`
(function () {
  'use strict';
  var KEY = new URLSearchParams(location.search).get('code') || '';
  var JOBS_EVERY_MS = 1500;
  var STATS_EVERY_MS = 3000;
  var STATUSES = ${JSON.stringify(JOB_STATUSES)};
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var SVG = 'http://www.w3.org/2000/svg';
  var state = { filters: { status: '', kind: '', userId: '' }, selected: null, jobsKey: '', detailKey: '', statsAt: 0, kinds: [] };

  function $(id) { return document.getElementById(id); }
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') el.textContent = String(v);
      else if (k === 'class') el.className = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function s(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') el.textContent = attrs[k]; else el.setAttribute(k, String(attrs[k])); });
    return el;
  }
  function replace(el) { while (el.firstChild) el.removeChild(el.firstChild); for (var i = 1; i < arguments.length; i++) append(el, arguments[i]); }
  function fmt(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : '–'; }
  function short(id) { return id ? String(id).slice(0, 8) : '–'; }
  function ago(iso) {
    if (!iso) return '–';
    var sec = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (sec < 60) return sec + ' s ago';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ago';
    if (sec < 86400) return Math.floor(sec / 3600) + ' h ago';
    return Math.floor(sec / 86400) + ' d ago';
  }
  function duration(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return '–';
    var sec = Math.max(0, Math.round(ms / 1000));
    if (sec < 60) return sec + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ' + (sec % 60) + ' s';
    return Math.floor(sec / 3600) + ' h ' + Math.floor((sec % 3600) / 60) + ' min';
  }
  function runtime(job) {
    if (!job.startedAt) return null;
    return (job.finishedAt ? Date.parse(job.finishedAt) : Date.now()) - Date.parse(job.startedAt);
  }
  function time(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
  function message(err) {
    if (!err) return '';
    if (typeof err === 'string') return err;
    if (typeof err.message === 'string') return (err.code ? err.code + ': ' : '') + err.message;
    return JSON.stringify(err);
  }

  function api(method, path) {
    return fetch(path, { method: method, headers: { 'x-functions-key': KEY, accept: 'application/json' }, cache: 'no-store' }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!res.ok) {
          var err = new Error(body && body.error ? body.error.message : 'HTTP ' + res.status);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  function live(ok, text) {
    var el = $('live');
    el.className = 'live ' + (ok ? 'ok' : 'error');
    $('live-text').textContent = text;
  }
  var toastTimer = 0;
  function toast(text) {
    var el = $('toast');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 3500);
  }

  function pill(status) { return h('span', { class: 'pill status-' + status, 'data-status': status, text: status }); }
  function progressBar(job) {
    var p = job.progress || {};
    var pct = Math.max(0, Math.min(100, Number(p.percent) || (job.status === 'completed' ? 100 : 0)));
    var fill = h('div');
    fill.style.width = pct + '%';
    var title = fmt(p.done) + ' / ' + fmt(p.total) + (p.stage ? ' · ' + p.stage : '') + (p.message ? ' · ' + p.message : '');
    return h('div', { class: 'progress', title: title }, h('div', { class: 'bar status-' + job.status, role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill), h('span', { class: 'pct', text: Math.round(pct) + '%' }));
  }
  function actionButtons(job, big) {
    var out = [];
    if (job.status === 'failed' || job.status === 'cancelled') out.push(h('button', { class: big ? 'primary' : '', 'data-action': 'retry', 'data-job-id': job.id, text: 'Retry' }));
    if (job.status === 'pending' || job.status === 'queued' || job.status === 'running') out.push(h('button', { class: 'danger', 'data-action': 'cancel', 'data-job-id': job.id, disabled: job.cancelRequested, text: job.cancelRequested ? 'Cancelling…' : 'Cancel' }));
    return out;
  }
  function act(button) {
    var id = button.getAttribute('data-job-id');
    var action = button.getAttribute('data-action');
    button.disabled = true;
    api('POST', 'jobs/' + encodeURIComponent(id) + '/' + action).then(function (job) {
      toast((action === 'retry' ? 'Retry started: attempt ' + job.attempt : 'Cancel requested') + ' for ' + short(id));
      state.jobsKey = ''; state.detailKey = '';
      refreshJobs(); if (state.selected) refreshDetail();
    }, function (err) {
      button.disabled = false;
      toast(action + ' failed: ' + err.message);
    });
  }

  // Jobs ------------------------------------------------------------------------------------------------------------
  function jobsQuery() {
    var q = new URLSearchParams({ limit: '50' });
    var f = state.filters;
    if (f.status) q.set('status', f.status);
    if (f.kind) q.set('kind', f.kind);
    if (f.userId) q.set('userId', f.userId);
    return 'jobs?' + q.toString();
  }
  function refreshJobs() {
    var f = state.filters;
    if (f.userId && !UUID.test(f.userId)) return Promise.resolve();
    var asked = jobsQuery();
    return api('GET', asked).then(function (body) {
      if (asked !== jobsQuery()) return;
      var key = JSON.stringify(body.jobs) + (state.selected || '');
      if (key === state.jobsKey) { updateTimes(); return; }
      state.jobsKey = key;
      renderJobs(body.jobs);
    });
  }
  // Rows are updated in place, not rebuilt: a button under the operator's pointer must survive the next poll.
  function actionsKey(job) { return job.status + '|' + !!job.cancelRequested; }
  function buildRow(job) {
    var tr = h('tr', { class: 'job', 'data-job-id': job.id },
      h('td', {}, h('span', { class: 'mono', title: job.id, text: short(job.id) })),
      h('td', { text: job.kind }),
      h('td', {}, h('span', { class: 'mono muted', title: job.userId, text: short(job.userId) })),
      h('td', { class: 'c-status' }),
      h('td', { class: 'c-progress' }),
      h('td', { class: 'num c-attempt' }),
      h('td', { class: 'muted rel', 'data-at': job.createdAt, title: time(job.createdAt), text: ago(job.createdAt) }),
      h('td', { class: 'num muted c-runtime' }),
      h('td', { class: 'c-actions' }));
    updateRow(tr, job);
    return tr;
  }
  function updateRow(tr, job) {
    var cell = function (cls) { return tr.querySelector('.' + cls); };
    if (tr.getAttribute('data-status') !== job.status) {
      tr.setAttribute('data-status', job.status);
      replace(cell('c-status'), pill(job.status));
    }
    var bar = cell('c-progress').querySelector('.bar');
    var fresh = progressBar(job);
    if (!bar) replace(cell('c-progress'), fresh);
    else {
      var freshBar = fresh.querySelector('.bar');
      bar.className = freshBar.className;
      bar.setAttribute('aria-valuenow', freshBar.getAttribute('aria-valuenow'));
      bar.firstChild.style.width = freshBar.firstChild.style.width;
      cell('c-progress').firstChild.title = fresh.title;
      cell('c-progress').querySelector('.pct').textContent = fresh.querySelector('.pct').textContent;
    }
    cell('c-attempt').textContent = job.attempt;
    cell('c-runtime').textContent = duration(runtime(job));
    if (tr.getAttribute('data-actions') !== actionsKey(job)) {
      tr.setAttribute('data-actions', actionsKey(job));
      replace(cell('c-actions'), actionButtons(job, false));
    }
  }
  function renderJobs(jobs) {
    var body = $('jobs-body');
    var existing = {};
    Array.prototype.forEach.call(body.children, function (tr) { existing[tr.getAttribute('data-job-id')] = tr; });
    var prev = null;
    jobs.forEach(function (job) {
      var tr = existing[job.id];
      if (tr) { delete existing[job.id]; updateRow(tr, job); } else tr = buildRow(job);
      tr.classList.toggle('selected', job.id === state.selected);
      var at = prev ? prev.nextSibling : body.firstChild;
      if (at !== tr) body.insertBefore(tr, at);
      prev = tr;
    });
    Object.keys(existing).forEach(function (id) { body.removeChild(existing[id]); });
    $('jobs-empty').hidden = jobs.length > 0;
  }
  function updateTimes() {
    Array.prototype.forEach.call(document.querySelectorAll('td.rel'), function (td) { td.textContent = ago(td.getAttribute('data-at')); });
  }

  // Detail ----------------------------------------------------------------------------------------------------------
  function openJob(id) {
    state.selected = id; state.detailKey = ''; state.jobsKey = '';
    $('drawer').hidden = false;
    replace($('detail'), h('p', { class: 'muted', text: 'Loading ' + short(id) + '…' }));
    refreshDetail(); refreshJobs();
  }
  function closeJob() {
    state.selected = null; state.jobsKey = '';
    $('drawer').hidden = true;
    refreshJobs();
  }
  function refreshDetail() {
    var id = state.selected;
    if (!id) return Promise.resolve();
    return api('GET', 'jobs/' + encodeURIComponent(id) + '/details').then(function (d) {
      if (state.selected !== id) return;
      var key = JSON.stringify(d);
      if (key === state.detailKey) return;
      state.detailKey = key;
      renderDetail(d);
    });
  }
  function keepActions(job) {
    var old = $('detail').querySelector('.actions');
    if (old && old.getAttribute('data-key') === job.id + '|' + actionsKey(job)) return old;
    return h('div', { class: 'actions', 'data-key': job.id + '|' + actionsKey(job) }, actionButtons(job, true));
  }
  function fact(k, v) { return h('div', {}, h('span', { class: 'k', text: k }), h('span', {}, v)); }
  function renderDetail(d) {
    var job = d.job;
    var usage = Object.keys(job.usage || {}).map(function (k) { return h('span', { class: 'chip', text: k + ' ' + fmt(job.usage[k]) }); });
    var eta = typeof job.etaSeconds === 'number' ? duration(job.etaSeconds * 1000) : null;
    var errors = [];
    if (job.error) errors.push(h('div', { class: 'error-box' }, h('span', { class: 'where', text: 'job' }), message(job.error)));
    d.chunkErrors.forEach(function (c) { errors.push(h('div', { class: 'error-box' }, h('span', { class: 'where', text: 'stage ' + c.stage + ' · chunk ' + c.idx + ' · ' + c.status + ' · ' + c.failures + ' failure(s)' }), message(c.error))); });
    d.itemErrors.forEach(function (i) { errors.push(h('div', { class: 'error-box' }, h('span', { class: 'where', text: 'item ' + i.key }), message(i.error))); });
    replace($('detail'),
      h('div', { class: 'drawer-head' },
        h('div', {}, h('h3', {}, job.kind + ' ', h('span', { class: 'mono muted', text: job.id })), h('div', { id: 'detail-status' }, pill(job.status))),
        h('button', { 'data-action': 'close', 'aria-label': 'Close', text: 'Close' })),
      keepActions(job),
      progressBar(job),
      h('div', { class: 'facts' },
        fact('Progress', fmt(job.progress.done) + ' / ' + fmt(job.progress.total) + (job.progress.stage ? ' · ' + job.progress.stage : '')),
        eta !== null ? fact('ETA', eta) : null,
        fact('Attempt', job.attempt),
        fact('Queue position', job.queuePosition === null ? '–' : job.queuePosition),
        fact('User', h('span', { class: 'mono', text: job.userId })),
        fact('Priority', job.priority),
        fact('Credits charged', fmt(job.creditsCharged)),
        fact('Credits refunded', fmt(job.creditsRefunded)),
        fact('Created', time(job.createdAt)),
        fact('Started', time(job.startedAt)),
        fact('Finished', time(job.finishedAt)),
        fact('Run time', duration(runtime(job)))),
      job.progress.message ? h('p', { class: 'muted', text: job.progress.message }) : null,
      h('h4', { text: 'Usage' }), usage.length ? h('div', { class: 'chips' }, usage) : h('p', { class: 'muted', text: 'No provider calls yet.' }),
      h('h4', { text: 'Stages' }), d.stages.length ? stagesTable(d.stages) : h('p', { class: 'muted', text: 'Not planned yet.' }),
      h('h4', { text: 'Errors' }), errors.length ? h('div', { class: 'errors', id: 'detail-errors' }, errors) : h('p', { class: 'muted', text: 'None.' }),
      h('h4', { text: 'Attempts' }), attemptsTable(d.attempts),
      h('h4', { text: 'Event log' }),
      h('ul', { class: 'events', id: 'detail-events' }, d.events.map(function (e) {
        return h('li', { class: 'to-' + e.to }, h('div', {}, (e.from || 'new') + ' → ', h('strong', { text: e.to }), h('span', { class: 'muted', text: ' · attempt ' + e.attempt + ' · ' + e.actor })),
          h('div', { class: 'when', text: time(e.at) + (e.detail ? ' · ' + message(e.detail) : '') }));
      })));
  }
  function stagesTable(stages) {
    return h('div', { class: 'table-wrap' }, h('table', { id: 'detail-stages' },
      h('thead', {}, h('tr', {}, h('th', { text: '#' }), h('th', { text: 'Stage' }), h('th', { text: 'Chunks' }), h('th', { class: 'num', text: 'Done' }), h('th', { class: 'num', text: 'Failed' }), h('th', { class: 'num', text: 'Items' }), h('th', { class: 'num', text: 'Runs' }))),
      h('tbody', {}, stages.map(function (st) {
        var total = Math.max(1, st.chunkCount);
        var stack = h('div', { class: 'stack', title: st.chunks.done + ' done, ' + st.chunks.running + ' running, ' + st.chunks.failed + ' failed, ' + st.chunks.pending + ' pending' });
        ['done', 'running', 'failed'].forEach(function (k) { var part = h('div', { class: k }); part.style.width = (100 * st.chunks[k] / total) + '%'; stack.appendChild(part); });
        return h('tr', {}, h('td', { text: st.stage }), h('td', { text: st.name }), h('td', {}, stack), h('td', { class: 'num', text: st.chunks.done + ' / ' + st.chunkCount }), h('td', { class: 'num', text: st.chunks.failed }), h('td', { class: 'num', text: fmt(st.itemCount) }), h('td', { class: 'num', title: st.chunkFailures + ' failed run(s)', text: st.chunkAttempts }));
      }))));
  }
  function attemptsTable(rows) {
    if (!rows.length) return h('p', { class: 'muted', text: 'No deliveries recorded.' });
    return h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { text: 'Attempt' }), h('th', { text: 'Created' }), h('th', { text: 'Enqueued' }), h('th', { class: 'num', text: 'Sends' }), h('th', { text: 'Picked up' }))),
      h('tbody', {}, rows.map(function (a) {
        return h('tr', {}, h('td', { text: a.attempt }), h('td', { text: time(a.createdAt) }), h('td', { text: time(a.enqueuedAt) }), h('td', { class: 'num', text: a.enqueueCount }), h('td', { text: time(a.acknowledgedAt) }));
      }))));
  }

  // Stats -----------------------------------------------------------------------------------------------------------
  function refreshStats() {
    return api('GET', 'stats').then(function (st) {
      state.statsAt = Date.now();
      renderStats(st);
    });
  }
  function card(cls, label, value, id) { return h('div', { class: 'card ' + cls, id: id }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value })); }
  function renderStats(st) {
    var q = st.queue;
    replace($('cards'), STATUSES.map(function (x) { return card('s-' + x, x, fmt(st.jobs.byStatus[x]), 'count-' + x); }),
      card('queue', 'queue', q.depth === null ? 'n/a' : fmt(q.depth), 'queue-depth'),
      card('poison' + (q.poisonDepth ? ' alert' : ''), 'poison', q.poisonDepth === null ? 'n/a' : fmt(q.poisonDepth), 'poison-depth'));
    $('queue-names').textContent = q.name + ' · ' + q.poisonName + (q.errors ? ' · ' + q.errors.join('; ') : '');
    $('throughput-total').textContent = fmt(st.throughput.completed) + ' completed · ' + fmt(st.throughput.failed) + ' failed';
    renderChart(st.throughput.perMinute);
    renderKinds(st.jobs.byKindStatus);
    renderUsage(st.usage);
    renderLimiter(st.rateLimiter);
    var kinds = st.jobs.byKindStatus.map(function (r) { return r.kind; }).filter(function (k, i, all) { return all.indexOf(k) === i; }).sort();
    if (kinds.join() !== state.kinds.join()) {
      state.kinds = kinds;
      var sel = $('filter-kind');
      replace(sel, h('option', { value: '', text: 'All kinds' }), kinds.map(function (k) { return h('option', { value: k, text: k }); }));
      if (state.filters.kind && kinds.indexOf(state.filters.kind) < 0) sel.appendChild(h('option', { value: state.filters.kind, text: state.filters.kind }));
      sel.value = state.filters.kind;
    }
  }
  function niceMax(n) {
    if (n <= 4) return 4;
    var p = Math.pow(10, Math.floor(Math.log10(n)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= n) return steps[i] * p;
    return 10 * p;
  }
  function renderChart(minutes) {
    var W = 600, H = 180, L = 34, R = 6, T = 8, B = 22;
    var max = niceMax(minutes.reduce(function (m, x) { return Math.max(m, x.completed + x.failed); }, 0));
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Jobs finished per minute over the last hour' });
    var plotH = H - T - B, plotW = W - L - R, step = plotW / Math.max(1, minutes.length);
    [0, 0.5, 1].forEach(function (f) {
      var y = T + plotH - f * plotH;
      svg.appendChild(s('line', { class: 'grid', x1: L, x2: W - R, y1: y, y2: y }));
      svg.appendChild(s('text', { class: 'axis', x: L - 6, y: y + 3, 'text-anchor': 'end', text: String(Math.round(max * f)) }));
    });
    minutes.forEach(function (m, i) {
      var x = L + i * step + 1, w = Math.max(1, step - 2);
      var hc = plotH * m.completed / max, hf = plotH * m.failed / max;
      var g = s('g', {});
      g.appendChild(s('title', { text: new Date(m.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' — ' + m.completed + ' completed, ' + m.failed + ' failed' }));
      if (m.completed) g.appendChild(s('rect', { x: x, y: T + plotH - hc, width: w, height: hc, class: 'bar-completed' }));
      if (m.failed) g.appendChild(s('rect', { x: x, y: T + plotH - hc - hf, width: w, height: hf, class: 'bar-failed' }));
      svg.appendChild(g);
    });
    [[0, '−60 min'], [15, '−45'], [30, '−30'], [45, '−15'], [59, 'now']].forEach(function (t) {
      svg.appendChild(s('text', { class: 'axis', x: L + t[0] * step + step / 2, y: H - 6, 'text-anchor': t[0] === 59 ? 'end' : t[0] === 0 ? 'start' : 'middle', text: t[1] }));
    });
    replace($('chart'), svg);
  }
  function renderKinds(rows) {
    var kinds = {};
    rows.forEach(function (r) { (kinds[r.kind] = kinds[r.kind] || {})[r.status] = r.count; });
    var names = Object.keys(kinds).sort();
    replace($('kind-table'),
      h('thead', {}, h('tr', {}, h('th', { text: 'Kind' }), STATUSES.map(function (x) { return h('th', { class: 'num', text: x }); }))),
      h('tbody', {}, names.length ? names.map(function (k) {
        return h('tr', {}, h('td', { text: k }), STATUSES.map(function (x) { return h('td', { class: 'num', text: fmt(kinds[k][x] || 0) }); }));
      }) : h('tr', {}, h('td', { class: 'empty', colspan: 7, text: 'No jobs yet.' }))));
  }
  function renderUsage(rows) {
    replace($('usage-table'),
      h('thead', {}, h('tr', {}, ['Kind', 'Jobs', 'Requests', 'Tokens in', 'Tokens out', 'Images', 'Audio s'].map(function (x, i) { return h('th', { class: i ? 'num' : '', text: x }); }))),
      h('tbody', {}, rows.length ? rows.map(function (r) {
        return h('tr', {}, h('td', { text: r.kind }), [r.jobs, r.requests, r.inputTokens, r.outputTokens, r.images, r.audioSeconds].map(function (v) { return h('td', { class: 'num', text: fmt(v) }); }));
      }) : h('tr', {}, h('td', { class: 'empty', colspan: 7, text: 'No usage yet.' }))));
  }
  function renderLimiter(rows) {
    replace($('limiter-table'),
      h('thead', {}, h('tr', {}, h('th', { text: 'Provider' }), h('th', { text: 'Model' }), h('th', { text: 'Key' }), h('th', { class: 'num', title: 'wait for the next request slot', text: 'Req. wait' }), h('th', { class: 'num', title: 'wait for token budget', text: 'Token wait' }), h('th', { text: 'Paused until' }), h('th', { text: 'Last use' }))),
      h('tbody', {}, rows.length ? rows.map(function (r) {
        return h('tr', {}, h('td', { text: r.provider }), h('td', { text: r.model }), h('td', { class: 'mono muted', text: r.key.split('#')[1] || '' }),
          h('td', { class: 'num', text: duration(r.requestBacklogMs) }), h('td', { class: 'num', text: duration(r.tokenBacklogMs) }),
          h('td', {}, r.pausedUntil ? h('span', { class: 'pill status-failed', text: time(r.pausedUntil) }) : h('span', { class: 'muted', text: '–' })),
          h('td', { class: 'muted', text: ago(r.updatedAt) }));
      }) : h('tr', {}, h('td', { class: 'empty', colspan: 7, text: 'No provider calls through the shared limiter yet.' }))));
  }

  // Loop ------------------------------------------------------------------------------------------------------------
  function tick() {
    if (document.hidden) { setTimeout(tick, JOBS_EVERY_MS); return; }
    var work = [refreshJobs(), refreshDetail()];
    if (Date.now() - state.statsAt >= STATS_EVERY_MS - 100) work.push(refreshStats());
    Promise.all(work).then(function () {
      live(true, 'live · updated ' + new Date().toLocaleTimeString());
    }, function (err) {
      live(false, err.status === 401 ? 'the admin key was not accepted: open this page with ?code=<admin key>' : 'cannot reach the API: ' + err.message);
    }).then(function () { setTimeout(tick, JOBS_EVERY_MS); });
  }

  function bind() {
    var form = $('filters');
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    $('filter-status').addEventListener('change', function (e) { state.filters.status = e.target.value; state.jobsKey = ''; refreshJobs(); });
    $('filter-kind').addEventListener('change', function (e) { state.filters.kind = e.target.value; state.jobsKey = ''; refreshJobs(); });
    $('filter-user').addEventListener('input', function (e) {
      var v = e.target.value.trim();
      e.target.classList.toggle('invalid', v !== '' && !UUID.test(v));
      state.filters.userId = v; state.jobsKey = '';
      if (v === '' || UUID.test(v)) refreshJobs();
    });
    $('filter-clear').addEventListener('click', function () {
      state.filters = { status: '', kind: '', userId: '' };
      $('filter-status').value = ''; $('filter-kind').value = ''; $('filter-user').value = ''; $('filter-user').classList.remove('invalid');
      state.jobsKey = ''; refreshJobs();
    });
    document.addEventListener('click', function (e) {
      var button = e.target.closest('button[data-action]');
      if (button) {
        e.stopPropagation();
        if (button.getAttribute('data-action') === 'close') closeJob(); else act(button);
        return;
      }
      var row = e.target.closest('tr.job');
      if (row) openJob(row.getAttribute('data-job-id'));
    });
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && state.selected) closeJob(); });
    replace($('filter-status'), h('option', { value: '', text: 'All statuses' }), STATUSES.map(function (x) { return h('option', { value: x, text: x }); }));
  }

  document.addEventListener('DOMContentLoaded', function () {
    bind();
    if (!KEY) live(false, 'open this page with ?code=<admin key> to load data');
    tick();
  });
})();
`;
