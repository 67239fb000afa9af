// A headless Chromium that a test script drives, one JSON command a line on
// stdin, one JSON answer a line on stdout ({"ok": true, "value": ...} or
// {"ok": false, "error": "..."}). playwright-core drives the system's
// Chromium (/usr/bin/chromium, or $DLT_CHROMIUM); it never downloads one.
//
// Commands ({"op": ..., ...}):
//   open {url, width, height}      a fresh page at url (the previous one closes)
//   viewport {width, height}
//   eval {fn, arg}                 page.evaluate of the function source fn
//   wait {fn, arg, timeout}        until fn(arg) is truthy in the page; its value
//   click {selector} | fill {selector, value} | select {selector, value}
//   check {selector, checked}
//   file {selector, name, content}  a file input set to one file of that text
//                                  (no name: emptied)
//   screenshot {path, fullPage}
//   errors                         uncaught page errors so far
//   close                          close the browser and exit
//
// On SIGTERM, SIGINT or the end of stdin it closes the browser and exits, so
// no Chromium outlives it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dlt-dashboard-chromium-'));
let ctx = null;
let page = null;
const pageErrors = [];
let closing = null;

function log(...a) {
  process.stderr.write(`${new Date().toISOString()} ${a.join(' ')}\n`);
}

async function shutdown(code) {
  if (!closing) {
    closing = (async () => {
      try {
        if (ctx) await ctx.close();
      } catch (e) {
        log('closing the browser:', e.message);
      }
      fs.rmSync(profile, { recursive: true, force: true });
    })();
  }
  await closing;
  process.exit(code);
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

async function openPage(url, width, height) {
  if (page) await page.close();
  page = await ctx.newPage();
  await page.setViewportSize({ width, height });
  page.on('pageerror', (e) => {
    pageErrors.push(String(e && e.stack ? e.stack : e));
    log('page error:', e);
  });
  page.on('console', (m) => log(`console.${m.type()}:`, m.text()));
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
}

const ops = {
  async open(c) {
    await openPage(c.url, c.width || 1400, c.height || 900);
  },
  async viewport(c) {
    await page.setViewportSize({ width: c.width, height: c.height });
  },
  // fn is the source of a function of one argument; a string given to
  // evaluate or waitForFunction is run in the page as an expression.
  async eval(c) {
    return page.evaluate(`(${c.fn})(${JSON.stringify(c.arg ?? null)})`);
  },
  async wait(c) {
    const h = await page.waitForFunction(`(${c.fn})(${JSON.stringify(c.arg ?? null)})`, null,
      { timeout: c.timeout || 30000, polling: 100 });
    return h.jsonValue();
  },
  async click(c) {
    await page.click(c.selector, { timeout: c.timeout || 10000 });
  },
  async fill(c) {
    await page.fill(c.selector, c.value, { timeout: c.timeout || 10000 });
  },
  async select(c) {
    await page.selectOption(c.selector, c.value, { timeout: c.timeout || 10000 });
  },
  async check(c) {
    await page.setChecked(c.selector, !!c.checked, { timeout: c.timeout || 10000 });
  },
  async file(c) {
    const files = c.name ? [{ name: c.name, mimeType: 'text/csv', buffer: Buffer.from(c.content || '') }] : [];
    await page.setInputFiles(c.selector, files, { timeout: c.timeout || 10000 });
  },
  async screenshot(c) {
    fs.mkdirSync(path.dirname(c.path), { recursive: true });
    await page.screenshot({ path: c.path, fullPage: !!c.fullPage });
  },
  async errors() {
    return pageErrors;
  },
};

ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.DLT_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ARGS,
  viewport: { width: 1400, height: 900 },
  timeout: 60000,
});
log('chromium', ctx.browser() ? ctx.browser().version() : '', 'profile', profile);
process.stdout.write(`${JSON.stringify({ ok: true, value: 'ready' })}\n`);

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let c;
  try {
    c = JSON.parse(line);
  } catch {
    process.stdout.write(`${JSON.stringify({ ok: false, error: 'not JSON' })}\n`);
    continue;
  }
  if (c.op === 'close') break;
  let answer;
  try {
    if (!ops[c.op]) throw new Error(`unknown op ${c.op}`);
    if (c.op !== 'open' && !page) throw new Error('no page open');
    const value = await ops[c.op](c);
    answer = { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    answer = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await shutdown(0);
