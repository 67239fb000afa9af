// Formatting and DOM helpers shared by the dashboard's views.

// el('td', {class: 'num', dataset: {k: 'sent'}}, 'text', childNode, ...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const DASH = '–';

export function fmtCount(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return Math.round(n).toLocaleString('en-US');
}

export function fmtRate(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(1);
}

// Milliseconds with about three significant digits.
export function fmtMs(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  if (v === 0) return '0';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

// A span of time in ms, short: "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min".
export function fmtSpan(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const pad = (n) => String(n).padStart(2, '0');

// An epoch-ms timestamp in local time: "14:03:27" today, else with the date.
export function fmtTime(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  const d = new Date(ms);
  const now = new Date();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export const ACTIVE_STATES = new Set(['CREATED', 'CONFIGURED', 'RUNNING']);

export function badge(kind, value) {
  const v = value || 'unknown';
  return el('span', { class: `badge ${kind}-${v.toLowerCase()}`, text: value || DASH });
}
