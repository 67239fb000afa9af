// The test list and the selected test: its state, configuration,
// aggregate and per-driver statistics, and its charts (charts.js).

import * as api from './api.js';
import { SeriesStore, TestCharts, shortId } from './charts.js';
import {
  ACTIVE_STATES, badge, el, fmtCount, fmtMs, fmtRate, fmtSpan, fmtTime,
} from './format.js';

const LAT_KEYS = ['min', 'mean', 'median', 'mode', 'p90', 'p99', 'max'];

export class TestsView {
  constructor() {
    this.tbody = document.querySelector('#tests-table tbody');
    this.empty = document.getElementById('tests-empty');
    this.detail = document.getElementById('detail');
    this.stopBtn = document.getElementById('stop-btn');
    this.msg = document.getElementById('detail-msg');
    this.tests = new Map(); // test_id -> latest test object (summary or full)
    this.selected = null;
    this.full = null; // the selected test's full object (with per_driver)
    this.pinned = false; // the user chose the selected test
    this.following = null; // the test follow() asked for
    this.store = new SeriesStore();
    this.charts = new TestCharts(this.detail);
    this.seriesLoad = 0; // generation of the latest series fetch
    this.stopBtn.addEventListener('click', () => this.stop());
    this.tbody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-test-id]');
      if (tr && !ev.target.closest('a')) this.choose(tr.dataset.testId);
    });
    this.tbody.addEventListener('keydown', (ev) => {
      const tr = ev.target.closest('tr[data-test-id]');
      if (tr && (ev.key === 'Enter' || ev.key === ' ')) {
        ev.preventDefault();
        this.choose(tr.dataset.testId);
      }
    });
  }

  // A choice by the user: kept while other tests start.
  choose(id) {
    this.show(id, true);
  }

  // Show a test the user did not pick (a test just started): a test that
  // starts later takes its place.
  follow(id) {
    this.show(id, false);
  }

  // The test in view is named in the address (#test=ID), so that a reload
  // or a shared link shows it again.
  show(id, pinned) {
    this.pinned = pinned;
    this.following = pinned ? null : id;
    if (location.hash !== `#test=${encodeURIComponent(id)}`) {
      location.hash = `test=${encodeURIComponent(id)}`; // onHash selects it
    } else {
      this.select(id);
    }
  }

  // The address changed: by show(), a link, or the browser's history.
  onHash(id) {
    if (id !== this.following) this.pinned = true;
    this.following = null;
    this.select(id);
  }

  // The whole list, as GET /api/tests answers (newest first).
  setList(tests) {
    const fresh = new Map();
    for (const t of tests) {
      const old = this.tests.get(t.test_id);
      // A test event may be newer than the list; keep the later figures.
      fresh.set(t.test_id, old && updated(old) > updated(t) ? old : t);
    }
    this.tests = fresh;
    if (this.full && !this.tests.has(this.full.test_id)) this.tests.set(this.full.test_id, this.full);
    this.renderList();
  }

  // A test event: the test object of a test that changed.
  onTest(t) {
    const isNew = !this.tests.has(t.test_id);
    if (!isNew && ACTIVE_STATES.has(t.state)) keepCounts(this.tests.get(t.test_id), t);
    this.tests.set(t.test_id, t);
    if (isNew) this.renderList();
    else this.renderRow(t);
    if (t.test_id === this.selected) {
      this.full = t;
      this.renderDetail();
    } else if (isNew && !this.pinned && ACTIVE_STATES.has(t.state)) {
      this.follow(t.test_id);
    }
  }

  // A point event. A point's counts are cumulative and may be fresher than
  // the last test event (a point comes with every report, a test event
  // about once a second): the running test's counters take them at once.
  onPoint(p) {
    const listed = this.tests.get(p.test_id);
    const shown = this.full && this.full.test_id === p.test_id ? this.full : null;
    let changed = false;
    for (const t of new Set([listed, shown])) {
      if (!t || !ACTIVE_STATES.has(t.state)) continue;
      const into = p.node_id ? (t.per_driver || []).find((d) => d.node_id === p.node_id) : t.aggregate;
      if (into && raiseCounts(into, p)) changed = true;
    }
    if (changed) {
      if (listed) this.renderRow(listed);
      if (shown) this.renderStats(shown);
    }
    if (p.test_id !== this.selected) return;
    this.store.add(p.node_id || '', p);
    this.charts.render(this.store);
  }

  // The newest test, when nothing is selected yet.
  selectDefault() {
    if (this.selected) return;
    const first = this.order()[0];
    if (first) this.follow(first);
  }

  order() {
    return [...this.tests.values()]
      .sort((a, b) => (b.created_ms || 0) - (a.created_ms || 0))
      .map((t) => t.test_id);
  }

  renderList() {
    const rows = this.order().map((id) => this.row(this.tests.get(id)));
    this.tbody.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  renderRow(t) {
    const old = this.tbody.querySelector(`tr[data-test-id="${CSS.escape(t.test_id)}"]`);
    if (old) old.replaceWith(this.row(t));
    else this.renderList();
  }

  row(t) {
    const agg = t.aggregate || {};
    const lat = agg.latency_ms || {};
    const cfg = t.config || {};
    const sel = t.test_id === this.selected;
    return el('tr', {
      dataset: { testId: t.test_id, state: t.state }, tabindex: '0',
      class: sel ? 'selected' : null, 'aria-selected': sel ? 'true' : 'false',
    },
    el('td', {},
      el('a', { href: `#test=${encodeURIComponent(t.test_id)}`, class: 'mono', text: t.test_id })),
    el('td', { dataset: { k: 'state' } }, badge('state', t.state)),
    el('td', { class: 'num', dataset: { k: 'sent' }, text: fmtCount(agg.requests_sent) }),
    el('td', { class: 'num', text: fmtRate(agg.rps) }),
    el('td', { class: 'num', text: agg.responses_received ? fmtMs(lat.p99) : '–' }),
    el('td', { text: cfg.test_type || '–' }),
    el('td', { class: 'num', text: String((t.drivers || []).length) }),
    el('td', { class: 'num', text: fmtTime(t.created_ms) }));
  }

  // Show test id: fetch its full object and its time series.
  async select(id) {
    const changed = id !== this.selected;
    this.selected = id;
    this.detail.hidden = false;
    if (changed) {
      this.full = this.tests.get(id) || null;
      this.store.reset(id);
      this.msg.textContent = '';
      this.renderList();
      this.renderDetail();
    }
    await this.refreshSelected();
  }

  // Fetch the selected test again (after a reconnect, or a new selection).
  async refreshSelected() {
    const id = this.selected;
    if (!id) return;
    const gen = ++this.seriesLoad;
    try {
      const [t, series] = await Promise.all([api.getTest(id), api.getSeries(id)]);
      if (gen !== this.seriesLoad || id !== this.selected) return;
      if (ACTIVE_STATES.has(t.state)) keepCounts(this.tests.get(id), t);
      this.tests.set(id, updated(t) >= updated(this.tests.get(id)) ? t : this.tests.get(id));
      this.full = this.tests.get(id);
      this.store.load(series);
      this.renderRow(this.full);
      this.renderDetail();
      this.charts.render(this.store);
    } catch (e) {
      if (gen !== this.seriesLoad) return;
      if (e.status === 404) this.msg.textContent = `No test ${id} at this orchestrator.`;
      else this.msg.textContent = `Could not load test ${id}: ${e.message}`;
    }
  }

  async stop() {
    const id = this.selected;
    if (!id) return;
    this.stopBtn.disabled = true;
    this.msg.textContent = '';
    try {
      const t = await api.stopTest(id);
      if (t && t.test_id) this.onTest(t);
    } catch (e) {
      this.msg.textContent = `Not stopped: ${e.message}`;
    } finally {
      this.stopBtn.disabled = false;
      this.renderDetail();
    }
  }

  renderDetail() {
    const t = this.full;
    const d = (id) => document.getElementById(id);
    if (!t) {
      d('detail-id').textContent = this.selected || '';
      d('detail-state').replaceChildren();
      this.stopBtn.hidden = true;
      return;
    }
    d('detail-id').textContent = t.test_id;
    d('detail-state').replaceChildren(badge('state', t.state));
    d('detail').dataset.state = t.state;
    this.stopBtn.hidden = !ACTIVE_STATES.has(t.state);
    d('detail-reason').textContent = t.reason || '';
    d('detail-reason').hidden = !t.reason;

    const end = t.ended_ms || (ACTIVE_STATES.has(t.state) ? Date.now() : null);
    const facts = [
      ['Created', fmtTime(t.created_ms)],
      ['Started', fmtTime(t.start_at_ms)],
      ['Ended', fmtTime(t.ended_ms)],
      ['Duration', t.start_at_ms && end ? fmtSpan(end - t.start_at_ms) : '–'],
      ['Start skew', t.start_skew_ms === null || t.start_skew_ms === undefined
        ? '–' : `${fmtMs(t.start_skew_ms)} ms`],
    ];
    if (t.approximate) facts.push(['Percentiles', 'approximate (a driver sent no histogram)']);
    d('detail-facts').replaceChildren(...facts.map(([k, v]) => el('div', {},
      el('dt', { text: k }), el('dd', { text: v }))));
    d('detail-config').replaceChildren(...configRows(t).flatMap(([k, v, key]) => [
      el('dt', { text: k }), el('dd', { dataset: { k: key } }, v)]));
    this.renderVerdict(t);
    this.renderStats(t);
  }

  // The thresholds' latest verdict, as the orchestrator judged and stored it.
  renderVerdict(t) {
    const v = t.verdict;
    const box = document.getElementById('verdict');
    box.hidden = !v;
    if (!v) return;
    const word = v.final ? (v.passed ? 'passed' : 'failed') : 'live';
    const text = v.final ? (v.passed ? 'passed' : 'failed')
      : `judged live${t.abort_on_fail ? ', abort on fail' : ''}`;
    document.getElementById('verdict-badge').replaceChildren(
      el('span', { class: `badge verdict-${word}`, text }));
    document.getElementById('verdict-list').replaceChildren(...(v.thresholds || []).map((x) =>
      el('li', { dataset: { expr: x.expr, holds: String(x.holds) } },
        el('span', { class: 'mono', text: x.expr }),
        el('span', { class: `badge verdict-${x.holds ? 'passed' : 'failed'}`,
          text: x.holds ? 'holds' : 'breached' }),
        ` ${fmtMs(x.value)}`)));
  }

  renderStats(t) {
    const liveness = new Map((t.per_driver || []).map((p) => [p.node_id, p]));
    const rows = [statsRow('all', 'all drivers', t.aggregate || {}, null)];
    const per = [...(t.per_driver || [])].sort((a, b) => a.node_id.localeCompare(b.node_id));
    for (const p of per) rows.push(statsRow(p.node_id, p.node_id, p, liveness.get(p.node_id)));
    document.querySelector('#stats-table tbody').replaceChildren(...rows);

    const agg = t.aggregate || {};
    const notes = [];
    const codes = Object.entries(agg.status_codes || {});
    if (codes.length) notes.push(`HTTP status: ${codes.map(([c, n]) => `${c} × ${fmtCount(n)}`).join(', ')}`);
    const kinds = Object.entries(agg.error_kinds || {}).filter(([, n]) => n > 0);
    if (kinds.length) notes.push(`errors: ${kinds.map(([k, n]) => `${k.replace('_', ' ')} ${fmtCount(n)}`).join(', ')}`);
    if (agg.late) notes.push(`late: ${fmtCount(agg.late)} requests went out after their due time`);
    for (const p of per) {
      if (p.failure) notes.push(`${p.node_id}: ${p.failure}`);
    }
    const box = document.getElementById('stats-notes');
    box.replaceChildren(...notes.map((n) => el('li', { text: n })));
    box.hidden = notes.length === 0;
    renderByRequest(agg);
  }
}

const REQ_LAT_KEYS = ['mean', 'median', 'p90', 'p99', 'max'];

// The per-request table of a test with "requests" (aggregate.by_request),
// in the order of the test's requests; hidden for a test without them.
function renderByRequest(agg) {
  const by = agg.by_request && typeof agg.by_request === 'object' ? agg.by_request : null;
  const names = by ? Object.keys(by) : [];
  document.getElementById('byreq').hidden = names.length === 0;
  const rows = names.map((name) => {
    const r = by[name] || {};
    const lat = r.latency_ms || {};
    const has = (r.responses_received || 0) > 0;
    const failedBy = Object.entries(r.checks_failed_by || {}).filter(([, n]) => n > 0)
      .map(([k, n]) => `${k.replace('_', ' ')} ${fmtCount(n)}`).join(', ');
    return el('tr', { dataset: { request: name } },
      el('th', { scope: 'row', class: 'mono', text: name }),
      el('td', { class: 'num', dataset: { k: 'requests_sent' }, text: fmtCount(r.requests_sent) }),
      el('td', { class: 'num', dataset: { k: 'responses_received' }, text: fmtCount(r.responses_received) }),
      el('td', { class: `num${r.errors ? ' bad' : ''}`, dataset: { k: 'errors' }, text: fmtCount(r.errors) }),
      el('td', { class: 'num', dataset: { k: 'checks_passed' }, text: fmtCount(r.checks_passed) }),
      el('td', { class: `num${r.checks_failed ? ' bad' : ''}`, dataset: { k: 'checks_failed' }, text: fmtCount(r.checks_failed) }),
      el('td', { dataset: { k: 'checks_failed_by' }, text: failedBy || '–' }),
      el('td', { class: 'num', dataset: { k: 'rps' }, text: fmtRate(r.rps) }),
      ...REQ_LAT_KEYS.map((k) => el('td', { class: 'num', dataset: { k }, text: has ? fmtMs(lat[k]) : '–' })));
  });
  document.querySelector('#byreq-table tbody').replaceChildren(...rows);
  const checks = document.getElementById('byreq-checks');
  checks.textContent = Number.isFinite(agg.checks_passed) && Number.isFinite(agg.checks_failed)
    ? `Checks, all requests: ${fmtCount(agg.checks_passed)} passed, ${fmtCount(agg.checks_failed)} failed.`
    : '';
}

const COUNTS = ['requests_sent', 'responses_received', 'errors'];

// Raise into's counts to those of from where they are higher (the counts of
// a test only grow); true when one changed.
function raiseCounts(into, from) {
  let changed = false;
  for (const k of COUNTS) {
    if (Number.isFinite(from[k]) && !(into[k] >= from[k])) {
      into[k] = from[k];
      changed = true;
    }
  }
  return changed;
}

// A running test's new object never shows fewer requests than the page did.
function keepCounts(prev, t) {
  if (!prev || prev.test_id !== t.test_id) return;
  if (prev.aggregate && t.aggregate) raiseCounts(t.aggregate, prev.aggregate);
  const old = new Map((prev.per_driver || []).map((d) => [d.node_id, d]));
  for (const d of t.per_driver || []) {
    if (old.has(d.node_id)) raiseCounts(d, old.get(d.node_id));
  }
}

function updated(t) {
  if (!t) return -1;
  return Math.max(t.ended_ms || 0, (t.aggregate && t.aggregate.updated_ms) || 0,
    t.start_at_ms || 0, t.created_ms || 0) + (ACTIVE_STATES.has(t.state) ? 0 : 1);
}

function statsRow(key, label, s, part) {
  const lat = s.latency_ms || {};
  const has = (s.responses_received || 0) > 0;
  const who = key === 'all' ? el('th', { scope: 'row', text: label })
    : el('th', { scope: 'row', class: 'mono', title: label, text: shortId(label) });
  let live = '';
  if (part) {
    live = el('span', {}, badge('live', part.liveness),
      part.final ? el('span', { class: 'tag', title: 'its final report is in', text: 'final' }) : null,
      part.failure ? el('span', { class: 'tag tag-bad', title: part.failure, text: 'failed' }) : null);
  }
  return el('tr', { dataset: { node: key }, class: key === 'all' ? 'total' : null },
    who,
    el('td', {}, live),
    el('td', { class: 'num', dataset: { k: 'requests_sent' }, text: fmtCount(s.requests_sent) }),
    el('td', { class: 'num', dataset: { k: 'responses_received' }, text: fmtCount(s.responses_received) }),
    el('td', { class: `num${s.errors ? ' bad' : ''}`, dataset: { k: 'errors' }, text: fmtCount(s.errors) }),
    el('td', { class: 'num', dataset: { k: 'rps' }, text: fmtRate(s.rps) }),
    ...LAT_KEYS.map((k) => el('td', { class: 'num', dataset: { k }, text: has ? fmtMs(lat[k]) : '–' })));
}

function configRows(t) {
  const c = t.config || {};
  const dflt = (text) => el('span', { class: 'muted', text });
  const rows = [
    ['Type', c.test_type || '–', 'test_type'],
    ['Requests per driver', c.message_count_per_driver
      ? fmtCount(c.message_count_per_driver) : dflt('no count: the duration or stages end it'), 'message_count_per_driver'],
  ];
  if (c.duration) rows.push(['Duration', `${c.duration} s`, 'duration']);
  if (Array.isArray(c.stages)) {
    const unit = c.test_type === 'TSUNAMI' ? 'requests/s' : 'in flight';
    rows.push(['Stages', el('span', { class: 'mono break',
      text: `from ${c.start_target || 0}: ${c.stages.map((st) => `${st.duration} s to ${st.target}`).join(', ')} (${unit}, fleet-wide)` }), 'stages']);
  }
  // With stages, a TSUNAMI's rate and an AVALANCHE's requests in flight
  // are the stages' (docs/TESTS.md): the 0 delay sent meanwhile is no rate.
  const staged = Array.isArray(c.stages) && c.stages.length > 0;
  if (staged && c.test_type === 'TSUNAMI') {
    rows.push(['Delay between requests', dflt('set by the stages'), 'test_message_delay']);
    rows.push(['Rate per driver', dflt('set by the stages'), 'target_throughput']);
  } else {
    rows.push(['Delay between requests', c.test_message_delay !== undefined && c.test_message_delay !== null
      ? el('span', {}, `${c.test_message_delay} s `, dflt('(test_message_delay, in seconds)'))
      : dflt('none'), 'test_message_delay']);
    rows.push(['Rate per driver', c.target_throughput
      ? `${c.target_throughput} requests/s` : dflt('unbounded'), 'target_throughput']);
  }
  rows.push(['Target URL', c.target_url
    ? el('span', { class: 'mono break', text: c.target_url }) : dflt("each driver's --target"), 'target_url']);
  rows.push(['Method', c.method || dflt(c.body ? 'POST (a body is given)' : 'GET'), 'method']);
  const hdrs = Object.entries(c.headers || {});
  rows.push(['Headers', hdrs.length
    ? el('span', { class: 'mono break' }, ...hdrs.flatMap(([k, v], i) => [i ? el('br') : null, `${k}: ${v}`]))
    : dflt('none'), 'headers']);
  if (typeof c.body === 'string') {
    const bytes = new TextEncoder().encode(c.body).length;
    const preview = c.body.length > 120 ? `${c.body.slice(0, 120)}…` : c.body;
    rows.push(['Body', el('span', {}, `${fmtCount(bytes)} bytes `,
      el('code', { class: 'break', text: preview })), 'body']);
  } else {
    rows.push(['Body', dflt('none'), 'body']);
  }
  if (Array.isArray(c.requests)) {
    rows.push(['Requests', el('span', { class: 'mono break',
      text: c.requests.map((r) => `${r.name} ×${r.weight || 1}`).join(', ') }), 'requests']);
  }
  if (c.data && typeof c.data === 'object') {
    const d = c.data;
    const how = d.mode === 'shared' ? 'shared: every driver uses them all'
      : 'split: each driver its own slice';
    rows.push(['Data', el('span', {}, `${fmtCount(d.rows || 0)} rows, ${how}; columns `,
      el('span', { class: 'mono break', text: (d.columns || []).join(', ') })), 'data']);
  }
  if (c.keep_rate) {
    rows.push(['Keep rate', "yes: the survivors take a dead driver's share", 'keep_rate']);
  }
  rows.push(['Concurrency', staged && c.test_type === 'AVALANCHE' ? dflt('set by the stages')
    : (c.concurrency ? fmtCount(c.concurrency) : dflt('64 (default)')), 'concurrency']);
  rows.push(['Request timeout', c.timeout_ms ? fmtSpan(c.timeout_ms) : dflt('10 s (default)'), 'timeout_ms']);
  rows.push(['Report interval', c.report_interval_ms ? fmtSpan(c.report_interval_ms)
    : dflt('1 s (default)'), 'report_interval_ms']);
  rows.push(['HTTP/2', c.http2 ? 'yes' : 'no', 'http2']);
  rows.push(['Drivers', (t.drivers || []).length
    ? el('span', { class: 'mono break', text: t.drivers.join(', ') }) : dflt('not chosen yet'), 'drivers']);
  rows.push(['Minimum drivers', String(t.min_drivers ?? 1), 'min_drivers']);
  return rows;
}
