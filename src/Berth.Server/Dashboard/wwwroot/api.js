// The Berth API as the dashboard calls it: the same routes and Bearer key as any client. The key is typed once and kept
// in sessionStorage (this tab only); without keys (loopback mode) no header is sent and nothing is asked.

import { setLive, sleep } from './dom.js';

const KEY = 'berth.apiKey';

export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = key => (key ? sessionStorage.setItem(KEY, key) : sessionStorage.removeItem(KEY));

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

let askForKey = null;

/** Called on a 401 with a reason; resolves once a new key is stored, rejects when the user gives up. */
export function onUnauthorized(handler) {
  askForKey = handler;
}

async function problem(response) {
  let title = `${response.status} ${response.statusText}`;
  let detail = '';
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      const body = await response.json();
      title = body.title ?? title;
      detail = body.detail ?? '';
    } catch { /* not JSON after all: keep the status line */ }
  }
  return new ApiError(response.status, title, detail);
}

/** fetch() with the key; a 401 asks for a key and tries again; any other error status throws an ApiError. */
export async function request(path, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers ?? {});
    const key = getKey();
    if (key) headers.set('Authorization', `Bearer ${key}`);
    const response = await fetch(path, { ...options, headers, credentials: 'omit', cache: 'no-store' });
    if (response.status === 401 && askForKey) {
      await askForKey(key ? 'The key was refused. Type another one.' : 'This Berth asks for an API key (Auth:Keys).');
      continue;
    }
    if (!response.ok) throw await problem(response);
    return response;
  }
}

export const getJson = async (path, options) => (await request(path, options)).json();

/**
 * Reads a text/event-stream with fetch() and a stream reader (EventSource cannot send the Authorization header).
 * Calls onEvent(type, data, id) per event. Resolves 'ended' when the server closes the stream and 'missing' when the
 * route is not there (404, or not an event stream: a server without the streams routes); rejects on errors.
 */
export async function readEvents(path, onEvent, signal, onOpen) {
  let response;
  try {
    response = await request(path, { headers: { Accept: 'text/event-stream' }, signal });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return 'missing';
    throw e;
  }
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await response.body?.cancel();
    return 'missing';
  }
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'ended';
    buffer += value.replaceAll('\r\n', '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = 'message';
      let id = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // ": keep-alive"
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'event') type = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
      }
      if (data.length > 0) onEvent(type, data.join('\n'), id);
    }
  }
}

/**
 * Follows job events on an SSE route; onJob gets each job view. Where the route is missing (a server without the
 * streams routes) it calls poll() every `every` ms instead, until poll() returns 'stop' or the signal aborts. A broken
 * stream (and an `endless` one that ended: GET /api/v1/events never ends by itself) is opened again after a pause, with
 * one poll() to catch up. Resolves when the stream ended or polling stopped.
 */
export async function followJobs(path, { signal, onJob, poll, every = 3000, endless = false }) {
  while (!signal.aborted) {
    setLive('connecting');
    let outcome;
    try {
      outcome = await readEvents(path, (type, data) => {
        if (type === 'job') onJob(JSON.parse(data));
      }, signal, () => {
        setLive('live');
        // An endless stream (/api/v1/events) sends no snapshot: read once more now that it is open, so that a change
        // between the page's first read and the stream's start is not missed.
        if (endless) Promise.resolve(poll()).catch(() => { /* shown by poll's caller */ });
      });
    } catch {
      outcome = 'error';
    }
    if (outcome === 'ended' && !endless) setLive('idle');
    if (signal.aborted || (outcome === 'ended' && !endless)) return;
    if (outcome === 'missing') {
      setLive('polling');
      while (!signal.aborted) {
        await sleep(every, signal);
        if (signal.aborted) return;
        try {
          if ((await poll()) === 'stop') return;
        } catch { /* shown by poll's caller; try again next time */ }
      }
      return;
    }
    setLive('offline');
    await sleep(3000, signal);
    if (signal.aborted) return;
    try {
      if ((await poll()) === 'stop') return;
    } catch { /* offline: the next round tries again */ }
  }
}
