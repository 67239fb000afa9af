// Live charts of a test's time series, drawn with uPlot (vendor/, loaded by
// index.html as the global uPlot): throughput of every driver and of all of
// them, and the latency percentiles p50, p90 and p99 of all drivers and of
// one chosen driver. x is seconds since the test's common start.

import { el, fmtMs, fmtRate } from './format.js';

const PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e', '#0a7d8c',
  '#6e7781', '#953800', '#116329'];
const AGG_COLOR = '#1f2328';
const PCT = [
  { key: 'p50', label: 'p50', color: '#1a7f37' },
  { key: 'p90', label: 'p90', color: '#bc4c00' },
  { key: 'p99', label: 'p99', color: '#cf222e' },
];

// A long node id, short enough for a legend: "d-mwub…fdf3ddb0".
export function shortId(id) {
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-8)}` : id;
}

// The points of one test: the aggregate's ("" node) and each driver's,
// keyed by t_ms so that a point seen both in the fetched series and in an
// event counts once.
export class SeriesStore {
  constructor() {
    this.reset(null);
  }

  reset(testId) {
    this.testId = testId;
    this.nodes = new Map([['', new Map()]]);
  }

  add(nodeId, p) {
    if (!p || !Number.isFinite(p.t_ms)) return;
    let m = this.nodes.get(nodeId);
    if (!m) {
      m = new Map();
      this.nodes.set(nodeId, m);
    }
    m.set(p.t_ms, p);
  }

  load(doc) {
    for (const p of doc.aggregate || []) this.add('', p);
    for (const [node, pts] of Object.entries(doc.drivers || {})) {
      for (const p of pts) this.add(node, p);
    }
  }

  driverIds() {
    return [...this.nodes.keys()].filter((k) => k !== '').sort();
  }

  // [[x seconds...], [values of key...]] for one node, in time order.
  columns(nodeId, key) {
    const m = this.nodes.get(nodeId);
    const pts = m ? [...m.values()].sort((a, b) => a.t_ms - b.t_ms) : [];
    return [pts.map((p) => p.t_ms / 1000), pts.map((p) => (p[key] ?? null))];
  }
}

// One uPlot chart that follows the width of its box.
class TimeChart {
  constructor(box, yLabel, fmt, unit) {
    this.box = box;
    this.yLabel = yLabel;
    this.fmt = fmt;
    this.unit = unit;
    this.plot = null;
    this.key = '';
    new ResizeObserver(() => this.resize()).observe(box);
  }

  size() {
    const w = Math.max(200, Math.floor(this.box.clientWidth));
    return { width: w, height: w < 500 ? 180 : 220 };
  }

  resize() {
    if (!this.plot) return;
    const s = this.size();
    if (s.width !== this.plot.width || s.height !== this.plot.height) this.plot.setSize(s);
  }

  // series: [{label, color, width}]; data: [xs, ys...] aligned.
  draw(series, data) {
    const key = series.map((s) => `${s.label}|${s.color}`).join(',');
    if (!this.plot || key !== this.key) {
      if (this.plot) this.plot.destroy();
      this.key = key;
      const fmt = this.fmt;
      const unit = this.unit;
      const opts = {
        ...this.size(),
        // Both axes start at 0; x spans at least a second, so that one
        // point (a short test) still gets readable ticks.
        scales: {
          x: { time: false, range: (u, min, max) => [0, Math.max(max ?? 0, 1)] },
          y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] },
        },
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        axes: [
          { label: 's since start', labelSize: 18, stroke: '#57606a', grid: { stroke: '#eaeef2' } },
          {
            label: this.yLabel, labelSize: 18, size: 56, stroke: '#57606a',
            grid: { stroke: '#eaeef2' }, values: (u, vals) => vals.map((v) => fmt(v)),
          },
        ],
        // Away from the cursor, the legend shows each series' latest value.
        series: [
          { label: 't', value: (u, v, si, i) => show(u, v, si, i, (x) => `${x.toFixed(1)} s`) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.width || 1.5,
            value: (u, v, si, i) => show(u, v, si, i, (x) => `${fmt(x)}${unit}`),
          })),
        ],
      };
      this.plot = new window.uPlot(opts, data, this.box);
      this.box.dataset.series = String(series.length);
    } else {
      this.plot.setData(data);
    }
    this.box.dataset.points = String(data[0].length);
  }
}

export class TestCharts {
  constructor(root) {
    this.rps = new TimeChart(root.querySelector('#chart-rps'), 'responses/s', fmtRate, '/s');
    this.lat = new TimeChart(root.querySelector('#chart-lat'), 'ms', fmtMs, ' ms');
    this.latDriver = new TimeChart(root.querySelector('#chart-lat-driver'), 'ms', fmtMs, ' ms');
    this.select = root.querySelector('#lat-driver');
    this.select.addEventListener('change', () => this.redraw());
    this.store = null;
    this.pending = null;
  }

  // Redraw soon (several points of one report interval arrive together).
  render(store) {
    this.store = store;
    if (this.pending === null) {
      this.pending = setTimeout(() => {
        this.pending = null;
        this.redraw();
      }, 100);
    }
  }

  redraw() {
    const store = this.store;
    if (!store || typeof window.uPlot !== 'function') return;
    const ids = store.driverIds();
    const colors = new Map(ids.map((id, i) => [id, PALETTE[i % PALETTE.length]]));

    this.rps.draw(
      [{ label: 'all drivers', color: AGG_COLOR, width: 2.5 },
        ...ids.map((id) => ({ label: shortId(id), color: colors.get(id) }))],
      window.uPlot.join([store.columns('', 'rps'), ...ids.map((id) => store.columns(id, 'rps'))]));

    this.lat.draw(PCT.map((p) => ({ label: p.label, color: p.color })),
      percentileData(store, ''));

    // The driver choice survives updates; the first driver by default.
    const chosen = ids.includes(this.select.value) ? this.select.value : ids[0] || '';
    const opts = [...this.select.options].map((o) => o.value);
    if (opts.join(',') !== ids.join(',')) {
      this.select.replaceChildren(...ids.map((id) => el('option', { value: id, text: id })));
    }
    this.select.value = chosen;
    this.select.disabled = ids.length === 0;
    this.latDriver.draw(PCT.map((p) => ({ label: p.label, color: p.color })),
      percentileData(store, chosen));
  }
}

function show(u, v, si, idx, fmt) {
  let x = v;
  if (idx === null || idx === undefined) {
    const col = u.data[si] || [];
    x = null;
    for (let i = col.length - 1; i >= 0; i -= 1) {
      if (col[i] !== null && col[i] !== undefined) {
        x = col[i];
        break;
      }
    }
  }
  return x === null || x === undefined ? '–' : fmt(x);
}

function percentileData(store, nodeId) {
  const cols = PCT.map((p) => store.columns(nodeId, p.key));
  return [cols[0][0], ...cols.map((c) => c[1])];
}
