// The orchestrator's REST API and event stream, as the dashboard uses them.
//
// request() sends JSON and returns the decoded answer, or throws an
// ApiError holding the status and the orchestrator's {"error": ...} reason.
// A POST answered 401 (the orchestrator runs with --api-token) asks for the
// token through the function given to setTokenAsker, keeps it in
// sessionStorage and sends the request again.

const TOKEN_KEY = 'dlt.apiToken';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status; // 0: the orchestrator could not be reached
  }
}

let tokenAsker = null;
const tokenListeners = [];

// fn({refused}) returns a promise of the token, or of null when the user
// declines. refused is true when a stored token was just refused.
export function setTokenAsker(fn) {
  tokenAsker = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage may be disabled; the token then lasts for this request only.
  }
  for (const fn of tokenListeners) fn(getToken());
}

export function onTokenChange(fn) {
  tokenListeners.push(fn);
}

async function send(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token && method !== 'GET') headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'cannot reach the orchestrator');
  }
  const text = await res.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  return { status: res.status, doc };
}

export async function request(method, path, body) {
  let token = getToken();
  for (;;) {
    const r = await send(method, path, body, token);
    if (r.status === 401 && method !== 'GET' && tokenAsker) {
      const refused = token !== null;
      if (refused) setToken(null);
      const given = await tokenAsker({ refused });
      if (given === null || given === '') {
        throw new ApiError(401, 'not sent: this orchestrator needs its API token');
      }
      setToken(given);
      token = getToken() ?? given;
      continue;
    }
    if (r.status >= 200 && r.status < 300) return r.doc;
    const reason = r.doc && typeof r.doc.error === 'string' ? r.doc.error : `HTTP ${r.status}`;
    throw new ApiError(r.status, reason);
  }
}

export const getDrivers = () => request('GET', '/api/drivers');
export const getTests = () => request('GET', '/api/tests?limit=200');
export const getTest = (id) => request('GET', `/api/tests/${encodeURIComponent(id)}`);
export const getSeries = (id) => request('GET', `/api/tests/${encodeURIComponent(id)}/timeseries`);
export const startTest = (cfg) => request('POST', '/api/tests', cfg);
export const stopTest = (id) => request('POST', `/api/tests/${encodeURIComponent(id)}/stop`);

// The orchestrator sends a drivers event every second, so a stream that has
// been silent this long is taken for dead and opened again.
const STALE_MS = 8000;
const RETRY_MS = 2000;

// Opens /api/events and keeps it open. handlers:
//   event(name, data)  a drivers, test or point event, decoded
//   status(s)          'connecting', 'live' or 'reconnecting'
//   open()             the stream is (again) open: refetch the state
export function connectEvents(handlers) {
  let es = null;
  let lastMs = Date.now();
  let retry = null;

  const open = () => {
    retry = null;
    lastMs = Date.now();
    es = new EventSource('/api/events');
    es.onopen = () => {
      lastMs = Date.now();
      handlers.status('live');
      handlers.open();
    };
    es.onerror = () => {
      handlers.status('reconnecting');
      // EventSource retries by itself unless it gave up (CLOSED), as it does
      // after an answer that is not an event stream (503, say).
      if (es.readyState === EventSource.CLOSED) reopenLater();
    };
    for (const name of ['drivers', 'test', 'point']) {
      es.addEventListener(name, (ev) => {
        lastMs = Date.now();
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return;
        }
        handlers.event(name, data);
      });
    }
  };

  const reopenLater = () => {
    if (es) es.close();
    if (retry === null) retry = setTimeout(open, RETRY_MS);
  };

  setInterval(() => {
    if (es && es.readyState === EventSource.OPEN && Date.now() - lastMs > STALE_MS) {
      handlers.status('reconnecting');
      reopenLater();
    }
  }, 1000);

  handlers.status('connecting');
  open();
}
