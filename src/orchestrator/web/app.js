// The dashboard: wires the views to the REST API and the event stream.
// Every view is drawn from GET answers when the stream (re)opens, then kept
// current by the drivers, test and point events.

import * as api from './api.js';
import { DriversView } from './drivers.js';
import { StartForm } from './form.js';
import { TestsView } from './tests.js';

const drivers = new DriversView(document.getElementById('drivers-table'));
const tests = new TestsView();
const form = new StartForm(document.getElementById('start-form'), (t) => {
  tests.onTest(t);
  tests.follow(t.test_id);
});

// ---- the API token ----------------------------------------------------------

const dialog = document.getElementById('token-dialog');
const tokenInput = document.getElementById('token-input');

// One prompt at a time: requests refused together share its answer.
let asking = null;
api.setTokenAsker(({ refused }) => {
  asking ??= new Promise((resolve) => {
    document.getElementById('token-refused').hidden = !refused;
    tokenInput.value = '';
    dialog.returnValue = '';
    dialog.addEventListener('close', () => {
      asking = null;
      resolve(dialog.returnValue === 'ok' && tokenInput.value ? tokenInput.value : null);
    }, { once: true });
    dialog.showModal();
    tokenInput.focus();
  });
  return asking;
});

const tokenState = document.getElementById('token-state');
const showToken = (token) => {
  tokenState.hidden = token === null;
};
api.onTokenChange(showToken);
showToken(api.getToken());
document.getElementById('token-forget').addEventListener('click', () => api.setToken(null));

// ---- the connection -----------------------------------------------------------

const conn = document.getElementById('conn');
const connText = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'disconnected — reconnecting…',
};

function setStatus(s) {
  conn.dataset.state = s;
  conn.textContent = connText[s];
  document.body.classList.toggle('stale', s !== 'live');
}

function hashId() {
  const m = /^#test=(.+)$/.exec(location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

let refreshing = 0;

// Everything again from the REST API: at load and whenever the event
// stream (re)opens, since events may have been missed meanwhile.
async function refresh() {
  const gen = ++refreshing;
  try {
    const [d, t] = await Promise.all([api.getDrivers(), api.getTests()]);
    if (gen !== refreshing) return;
    drivers.update(d.drivers);
    form.setDrivers(d.drivers || []);
    tests.setList(t.tests || []);
  } catch {
    return; // the stream's status already says the orchestrator is away
  }
  const id = hashId();
  if (id && id !== tests.selected) tests.onHash(id);
  else if (!id && !tests.selected) tests.selectDefault();
  else tests.refreshSelected();
}

window.addEventListener('hashchange', () => {
  const id = hashId();
  if (id) tests.onHash(id);
});

api.connectEvents({
  status: setStatus,
  open: refresh,
  event(name, data) {
    if (name === 'drivers') {
      drivers.update(data.drivers || []);
      form.setDrivers(data.drivers || []);
    } else if (name === 'test') {
      tests.onTest(data);
    } else if (name === 'point') {
      tests.onPoint(data);
    }
  },
});
refresh();
