// The driver table: one row per driver the orchestrator knows, from the
// drivers event (or GET /api/drivers). The time since the last heartbeat
// keeps counting between events.

import { badge, el, fmtCount, fmtSpan } from './format.js';

export class DriversView {
  constructor(root) {
    this.tbody = root.querySelector('tbody');
    this.count = document.getElementById('drivers-count');
    this.empty = document.getElementById('drivers-empty');
    this.drivers = [];
    this.at = 0; // performance.now() when this.drivers arrived
    setInterval(() => this.tick(), 500);
  }

  update(drivers) {
    this.drivers = Array.isArray(drivers) ? drivers : [];
    this.at = performance.now();
    this.render();
  }

  sinceText(d) {
    if (d.since_heartbeat_ms === null || d.since_heartbeat_ms === undefined) return 'never';
    return `${fmtSpan(d.since_heartbeat_ms + (performance.now() - this.at))} ago`;
  }

  render() {
    const rows = this.drivers.map((d) => {
      const test = d.test_id
        ? el('a', { href: `#test=${encodeURIComponent(d.test_id)}`, class: 'mono', text: d.test_id })
        : '–';
      const title = [d.hostname && `host ${d.hostname}`, d.pid && `pid ${d.pid}`,
        d.version && `version ${d.version}`].filter(Boolean).join(', ');
      return el('tr', { dataset: { nodeId: d.node_id, liveness: d.liveness || '' } },
        el('td', { class: 'mono', title: title || null, text: d.node_id }),
        el('td', { dataset: { k: 'liveness' } }, badge('live', d.liveness)),
        el('td', { class: 'num', dataset: { k: 'since' }, text: this.sinceText(d) }),
        el('td', { dataset: { k: 'state' } }, d.state ? badge('dstate', d.state) : '–'),
        el('td', { class: 'num', dataset: { k: 'sent' }, text: fmtCount(d.requests_sent) }),
        el('td', { dataset: { k: 'test' } }, test),
        el('td', { class: 'mono', dataset: { k: 'ip' }, text: d.node_ip || '–' }));
    });
    this.tbody.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
    const alive = this.drivers.filter((d) => d.liveness === 'alive').length;
    this.count.textContent = this.drivers.length
      ? `${alive} alive of ${this.drivers.length}` : '';
  }

  tick() {
    const cells = this.tbody.querySelectorAll('td[data-k="since"]');
    cells.forEach((td, i) => {
      const d = this.drivers[i];
      if (d) td.textContent = this.sinceText(d);
    });
  }
}
