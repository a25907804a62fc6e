// Small DOM helpers. Every text (job names, owners, logs, findings: all attacker-controlled) goes in as a text node:
// nothing here ever parses HTML.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Replaces a node's children; null and false children are left out. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export function append(node, children) {
  node.append(...children.flat(Infinity).filter(c => c != null && c !== false).map(c => (c instanceof Node ? c : String(c))));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value != null) node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

export function sleep(ms, signal) {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** The header's indicator: live (a stream is open), polling (the server has no stream routes), offline, connecting. */
export function setLive(state) {
  const live = document.getElementById('live');
  if (live) {
    live.dataset.state = state;
    live.textContent = state;
  }
}

export function showNotice(text) {
  const notice = document.getElementById('notice');
  notice.textContent = text ?? '';
  notice.hidden = !text;
}

export const terminal = status => status === 'succeeded' || status === 'failed' || status === 'canceled';

export function badge(status) {
  return el('span', { class: `badge status-${status}` }, status);
}

export function duration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 10000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** How long the job ran (or has been running), from its start; empty while queued. */
export function jobDuration(job, now = Date.now()) {
  if (!job.startedAt) return '';
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return duration(end - Date.parse(job.startedAt));
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function perf(value) {
  if (value == null) return '';
  return Math.abs(value) >= 1000 || Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, '');
}

export const jobLink = (id, ...children) => el('a', { href: `/jobs/${id}`, 'data-link': true }, ...children);

/** A job id as the tables show it: its last 12 digits (the first ones are a timestamp, alike for jobs of one minute). */
export const shortId = id => el('span', { title: id }, `…${id.slice(-12)}`);


/** Client-side navigation: the router in app.js renders on popstate. */
export function go(href) {
  history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
