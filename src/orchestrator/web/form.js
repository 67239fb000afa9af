// The form that starts a test: every field of POST /api/tests, checked
// here first (each field says what is wrong with it), then sent; the
// orchestrator's own reason is shown when it refuses (400, 409, ...).

import * as api from './api.js';
import { el } from './format.js';

const ID_RE = /^[A-Za-z0-9_.:-]{1,63}$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DURATION_RE = /^(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|sec|m|min|h)?$/i;
const UNIT_S = { us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
const BODY_MAX = 256 * 1024;
const REQUESTS_MAX = 100;
const THRESHOLDS_MAX = 32;
const DATA_MAX = 8 * 1024 * 1024;
// The fields an error can mark.
const FIELDS = ['count', 'duration', 'stages', 'start_target', 'delay', 'rate', 'url', 'headers', 'body', 'concurrency',
  'timeout', 'report', 'drivers', 'min_drivers', 'requests', 'data_file', 'thresholds', 'abort_on_fail',
  'keep_rate'];

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// "10ms", "1.5s", "2m", or a bare number of seconds -> seconds.
export function parseDuration(text) {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  // Whole microseconds, as the orchestrator reads "2300ms": 2.3, never
  // 2.3000000000000003.
  return Math.round(Number(m[1]) * UNIT_S[(m[2] || 's').toLowerCase()] * 1e6) / 1e6;
}

function wholeNumber(field, text, lo, hi) {
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < lo || Number(t) > hi) {
    throw new FieldError(field, `a whole number ${lo.toLocaleString('en-US')}..${hi.toLocaleString('en-US')}`);
  }
  return Number(t);
}

// The form's values as a POST /api/tests body; throws FieldError.
function collect(f) {
  const v = (name) => f.elements[name].value;
  const cfg = { test_type: v('test_type') };
  const duration = v('duration').trim();
  if (duration !== '') {
    const s = parseDuration(duration);
    if (s === null || !(s > 0) || s > 604800) {
      throw new FieldError('duration', 'seconds (30) or with a unit (30s, 2m), above 0, at most a week');
    }
    cfg.duration = s;
  }
  const stages = v('stages').trim();
  if (stages !== '') {
    cfg.stages = stages.split(',').map((part, i) => {
      if (part.trim() === '') {
        throw new FieldError('stages', `stage ${i + 1} is empty: a comma too many? (e.g. 10s:500, 20s:2000)`);
      }
      const m = /^(.+):\s*([0-9.]+)$/.exec(part.trim());
      const d = m ? parseDuration(m[1]) : null;
      const target = m ? Number(m[2]) : NaN;
      if (d === null || !(d > 0) || !(target >= 0 && target <= 1e7)) {
        throw new FieldError('stages', `"${part.trim().slice(0, 40)}" is not duration:target (e.g. 10s:500)`);
      }
      return { duration: d, target };
    });
    if (cfg.stages.length > 100) throw new FieldError('stages', 'at most 100 stages');
  }
  const from = v('start_target').trim();
  if (from !== '') {
    const n = Number(from);
    if (!/^[0-9.]+$/.test(from) || !(n >= 0 && n <= 1e7)) {
      throw new FieldError('start_target', 'the level the first stage starts from, 0..10,000,000');
    }
    if (!cfg.stages) throw new FieldError('start_target', 'a start for the stages: give the stages too');
    cfg.start_target = n;
  }
  if (v('count').trim() !== '' || (duration === '' && stages === '')) {
    cfg.message_count_per_driver = wholeNumber('count', v('count'), 1, 1e9);
  }

  const rate = v('rate').trim();
  if (rate !== '') {
    const r = Number(rate);
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(rate) || !(r >= 0 && r <= 1e7)) {
      throw new FieldError('rate', 'requests/s per driver, 0..10,000,000 (0 = unbounded)');
    }
    cfg.target_throughput = r;
  }
  const delay = v('delay').trim();
  if (delay !== '') {
    const s = parseDuration(delay);
    if (s === null || s > 3600) {
      throw new FieldError('delay', 'seconds (0.01) or with a unit (10ms, 1s), at most 1 h');
    }
    cfg.test_message_delay = s;
  } else if (cfg.test_type === 'TSUNAMI' && rate === '' && duration === '' && stages === '') {
    throw new FieldError('delay', 'a TSUNAMI needs a delay between requests (or a rate)');
  }

  if (cfg.stages && cfg.test_type === 'TSUNAMI' && (delay !== '' || rate !== '')) {
    throw new FieldError(delay !== '' ? 'delay' : 'rate', 'the stages set a TSUNAMI\'s rate: leave the delay and the rate empty');
  }
  if (cfg.stages && cfg.test_type === 'AVALANCHE' && v('concurrency').trim() !== '') {
    throw new FieldError('concurrency', 'the stages set an AVALANCHE\'s requests in flight: leave the concurrency empty');
  }

  const url = v('url').trim();
  if (url !== '') {
    let ok = url.length <= 2048 && /^https?:\/\//i.test(url);
    try {
      new URL(url); // eslint-disable-line no-new
    } catch {
      ok = false;
    }
    if (!ok) throw new FieldError('url', 'an http:// or https:// URL (at most 2048 characters)');
    cfg.target_url = url;
  }
  if (v('method')) cfg.method = v('method');

  const headers = {};
  let n = 0;
  for (const raw of v('headers').split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    const value = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (!TOKEN_RE.test(name) || name.length > 128) {
      throw new FieldError('headers', `"${line.slice(0, 40)}" is not "Name: value"`);
    }
    if (value.length > 8192) throw new FieldError('headers', `the value of ${name} is over 8192 characters`);
    headers[name] = value;
    n += 1;
  }
  if (n > 64) throw new FieldError('headers', 'at most 64 headers');
  if (n > 0) cfg.headers = headers;

  const body = v('body');
  if (body !== '') {
    if (new TextEncoder().encode(body).length > BODY_MAX) {
      throw new FieldError('body', 'at most 256 KiB');
    }
    cfg.body = body;
  }
  if (v('concurrency').trim() !== '') {
    cfg.concurrency = wholeNumber('concurrency', v('concurrency'), 1, 100000);
  }
  if (v('timeout').trim() !== '') {
    const s = parseDuration(v('timeout'));
    const ms = s === null ? NaN : Math.round(s * 1000);
    if (!(ms >= 1 && ms <= 3600000)) throw new FieldError('timeout', '1ms..1h (10s, 500ms; a bare number is seconds)');
    cfg.timeout_ms = ms;
  }
  if (v('report').trim() !== '') {
    const s = parseDuration(v('report'));
    const ms = s === null ? NaN : Math.round(s * 1000);
    if (!(ms >= 100 && ms <= 60000)) throw new FieldError('report', '100ms..60s (a bare number is seconds)');
    cfg.report_interval_ms = ms;
  }
  const ids = [...new Set(v('drivers').split(/[\s,]+/).filter(Boolean))];
  if (ids.length) {
    const bad = ids.find((id) => !ID_RE.test(id));
    if (bad) throw new FieldError('drivers', `"${bad.slice(0, 40)}" is not a node id`);
    if (ids.length > 1024) throw new FieldError('drivers', 'at most 1024 drivers');
    cfg.drivers = ids;
  }
  if (v('min_drivers').trim() !== '') {
    cfg.min_drivers = wholeNumber('min_drivers', v('min_drivers'), 1, 1024);
  }
  if (f.elements.http2.checked) cfg.http2 = true;

  const requests = v('requests').trim();
  if (requests !== '') {
    let list;
    try {
      list = JSON.parse(requests);
    } catch (e) {
      throw new FieldError('requests', `not JSON: ${e.message}`);
    }
    if (!Array.isArray(list) || list.length < 1 || list.length > REQUESTS_MAX
        || list.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
      throw new FieldError('requests', `a JSON list of 1..${REQUESTS_MAX} requests, each an object: `
        + '[{"name": "home", "url": "http://…", "weight": 3}]');
    }
    cfg.requests = list;
  }
  // Each threshold once, spaces kept: the orchestrator's reason quotes it.
  const thresholds = v('thresholds').split(/[\n,]/).map((t) => t.trim()).filter(Boolean);
  if (thresholds.length > THRESHOLDS_MAX) {
    throw new FieldError('thresholds', `at most ${THRESHOLDS_MAX} thresholds`);
  }
  const long = thresholds.find((t) => t.replace(/\s+/g, '').length > 127);
  if (long) throw new FieldError('thresholds', `"${long.slice(0, 40)}…" is over 127 characters`);
  if (thresholds.length) cfg.thresholds = thresholds;
  if (f.elements.abort_on_fail.checked) {
    if (!thresholds.length) throw new FieldError('abort_on_fail', 'abort on what? Give a threshold');
    cfg.abort_on_fail = true;
  }
  if (f.elements.keep_rate.checked) {
    if (cfg.test_type !== 'TSUNAMI') {
      throw new FieldError('keep_rate', 'for an open-loop test (TSUNAMI): an AVALANCHE has no rate to keep');
    }
    if (!(cfg.test_message_delay > 0) && !(cfg.target_throughput > 0) && !cfg.stages) {
      throw new FieldError('keep_rate', 'needs a rate: a delay, a rate or stages');
    }
    cfg.keep_rate = true;
  }
  return cfg;
}

// The chosen CSV file as the test's data, read whole; null without one.
async function readData(f) {
  const file = f.elements.data_file.files[0];
  if (!file) return null;
  if (file.size === 0) throw new FieldError('data_file', `${file.name} is empty`);
  if (file.size > DATA_MAX) {
    throw new FieldError('data_file', `${file.name} is ${file.size.toLocaleString('en-US')} bytes: at most 8 MiB (8,388,608)`);
  }
  let csv;
  try {
    csv = await file.text();
  } catch (e) {
    throw new FieldError('data_file', `${file.name} could not be read: ${e.message}`);
  }
  return { csv, mode: f.elements.data_mode.value };
}

export class StartForm {
  // onStarted(test): the orchestrator took the test (201).
  constructor(form, onStarted) {
    this.form = form;
    this.onStarted = onStarted;
    this.error = form.querySelector('#form-error');
    this.status = form.querySelector('#form-status');
    this.button = form.querySelector('button[type="submit"]');
    this.chips = form.querySelector('#driver-chips');
    this.delayHint = form.querySelector('#delay-hint');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    form.addEventListener('input', (ev) => {
      if (ev.target.name) this.clearField(ev.target.name);
      if (ev.target.name === 'delay') this.showDelay();
      if (ev.target.name === 'drivers') this.renderChips();
    });
    this.drivers = [];
    this.showDelay();
  }

  showDelay() {
    const text = this.form.elements.delay.value.trim();
    const s = text ? parseDuration(text) : null;
    this.delayHint.textContent = s === null
      ? 'test_message_delay, in seconds; 10ms, 1s, 1m are converted'
      : `= ${+s.toPrecision(6)} s (test_message_delay, in seconds)`;
  }

  // The known drivers, offered as chips that add or remove an id.
  setDrivers(drivers) {
    const ids = drivers.map((d) => `${d.node_id}|${d.liveness}`).join(',');
    if (ids === this.driversKey) return;
    this.driversKey = ids;
    this.drivers = drivers;
    this.renderChips();
  }

  chosen() {
    return this.form.elements.drivers.value.split(/[\s,]+/).filter(Boolean);
  }

  renderChips() {
    const chosen = new Set(this.chosen());
    this.chips.replaceChildren(...this.drivers.map((d) => el('button', {
      type: 'button',
      class: `chip live-${d.liveness}${chosen.has(d.node_id) ? ' on' : ''}`,
      title: `${d.liveness}; click to ${chosen.has(d.node_id) ? 'remove' : 'add'}`,
      'aria-pressed': chosen.has(d.node_id) ? 'true' : 'false',
      onclick: () => this.toggle(d.node_id),
    }, d.node_id)));
  }

  toggle(id) {
    const ids = this.chosen();
    const i = ids.indexOf(id);
    if (i >= 0) ids.splice(i, 1);
    else ids.push(id);
    this.form.elements.drivers.value = ids.join(', ');
    this.clearField('drivers');
    this.renderChips();
  }

  clearField(name) {
    const input = this.form.elements[name];
    if (!input || !input.closest) return;
    const box = input.closest('.field');
    if (!box) return;
    box.classList.remove('invalid');
    input.removeAttribute('aria-invalid');
    const msg = box.querySelector('.field-error');
    if (msg) msg.remove();
  }

  showFieldError(e) {
    const input = this.form.elements[e.field];
    const box = input.closest('.field');
    box.classList.add('invalid');
    input.setAttribute('aria-invalid', 'true');
    box.append(el('small', { class: 'field-error', dataset: { for: e.field }, text: e.message }));
    input.focus();
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  async submit() {
    for (const name of FIELDS) this.clearField(name);
    this.showError('');
    this.status.textContent = '';
    let cfg;
    try {
      cfg = collect(this.form);
      const data = await readData(this.form);
      if (data) cfg.data = data;
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      this.showFieldError(e);
      this.showError('Please correct the marked field.');
      return;
    }
    this.button.disabled = true;
    this.status.textContent = 'starting…';
    try {
      const t = await api.startTest(cfg);
      this.status.textContent = `started ${t.test_id}`;
      this.onStarted(t);
    } catch (e) {
      this.status.textContent = '';
      if (e.status === 0) this.showError(`Not started: ${e.message}.`);
      else if (e.status === 401) this.showError(`Not started: ${e.message}.`);
      else this.showError(`The orchestrator refused the test (HTTP ${e.status}): ${e.message}`);
    } finally {
      this.button.disabled = false;
    }
  }
}
