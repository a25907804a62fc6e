// The jobs table: status filter, cursor paging (the API's `next`), live rows from GET /api/v1/events (or polling).

import { followJobs, getJson } from './api.js';
import { badge, el, jobDuration, jobLink, perf, shortId, showNotice, terminal, time } from './dom.js';

const PAGE_SIZE = 20;
const STATUSES = ['queued', 'linting', 'building', 'scanning', 'running', 'succeeded', 'failed', 'canceled'];

export function jobsPage(main, query, signal) {
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : null;
  const cursors = [null]; // the `after` of each page shown so far; the last is the current page's
  const jobs = new Map(); // id -> job view, for the rows shown

  const filters = el('div', { class: 'filters', role: 'group', 'aria-label': 'Filter by status' },
    [null, ...STATUSES].map(s => el('a', {
      href: s ? `/?status=${s}` : '/',
      'data-link': true,
      class: `chip${s === status ? ' active' : ''}`,
      'data-status': s ?? 'all',
    }, s ?? 'all')));
  const body = el('tbody');
  const table = el('table', { class: 'jobs' },
    el('thead', {}, el('tr', {}, ['Status', 'Name', 'Owner', 'Perf', 'Duration', 'Created', 'Id'].map(h => el('th', { scope: 'col', class: h === 'Perf' || h === 'Duration' ? 'num' : null }, h)))),
    body);
  const newer = el('button', { type: 'button', class: 'ghost', id: 'newer', disabled: true, onclick: () => { cursors.pop(); load(); } }, '← Newer');
  const older = el('button', { type: 'button', class: 'ghost', id: 'older', disabled: true, onclick: () => { cursors.push(older.dataset.next); load(); } }, 'Older →');
  const pageInfo = el('span', { class: 'muted' });
  main.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Jobs'), filters),
    el('div', { class: 'card' }, table),
    el('div', { class: 'pager' }, newer, pageInfo, older));

  function row(job) {
    return el('tr', { 'data-id': job.id, 'data-status': job.status },
      el('td', {}, badge(job.status)),
      el('td', { class: 'name' }, jobLink(job.id, job.name ?? '(unnamed)')),
      el('td', {}, job.owner),
      el('td', { class: 'num' }, perf(job.performance)),
      el('td', { class: 'num duration' }, jobDuration(job)),
      el('td', { class: 'time' }, time(job.createdAt)),
      el('td', { class: 'id' }, jobLink(job.id, shortId(job.id))));
  }

  function show(items) {
    jobs.clear();
    for (const job of items) jobs.set(job.id, job);
    body.replaceChildren(...items.map(row));
    if (items.length === 0) {
      body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, status ? `No ${status} jobs.` : 'No jobs yet. Submit one with ./berth submit or POST /api/v1/jobs.')));
    }
  }

  // A list read races the events stream: a change streamed while the read is in flight may be missing from the list it
  // answers (the list was read first), so it is applied again on top of that list. Events come in order per job, so the
  // last one applied is the newest state.
  // Only the newest read is shown (a pager click while a read is in flight makes the older one stale).
  let loading = null;
  let streamedDuringLoad = [];
  let reads = 0;
  async function load() {
    const read = ++reads;
    streamedDuringLoad = [];
    const after = cursors[cursors.length - 1];
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status) params.set('status', status);
    if (after) params.set('after', after);
    loading = getJson(`/api/v1/jobs?${params}`, { signal });
    try {
      const page = await loading;
      if (signal.aborted || read !== reads) return;
      showNotice('');
      show(page.items);
      for (const job of streamedDuringLoad) apply(job);
      newer.disabled = cursors.length === 1;
      older.disabled = !page.next;
      older.dataset.next = page.next ?? '';
      pageInfo.textContent = `page ${cursors.length}`;
    } catch (e) {
      if (!signal.aborted && read === reads) showNotice(`Could not list the jobs: ${e.message}`);
    } finally {
      if (read === reads) {
        loading = null;
        streamedDuringLoad = [];
      }
    }
  }

  function onJob(job) {
    if (loading) streamedDuringLoad.push(job);
    apply(job);
  }

  // One job changed (or was submitted): update its row; a new job that fits the filter goes on top of the first page.
  function apply(job) {
    const existing = body.querySelector(`tr[data-id="${CSS.escape(job.id)}"]`);
    const fits = !status || job.status === status;
    if (existing) {
      jobs.set(job.id, job);
      const updated = row(job);
      updated.classList.add('changed');
      existing.replaceWith(updated);
    } else if (fits && cursors.length === 1 && !jobs.has(job.id)) {
      if (jobs.size === 0) body.replaceChildren();
      jobs.set(job.id, job);
      const added = row(job);
      added.classList.add('changed');
      body.prepend(added);
      while (body.rows.length > PAGE_SIZE) {
        jobs.delete(body.rows[body.rows.length - 1].dataset.id);
        body.rows[body.rows.length - 1].remove();
      }
    }
  }

  // Running jobs' durations tick.
  const ticker = setInterval(() => {
    for (const tr of body.rows) {
      const job = jobs.get(tr.dataset.id);
      if (job && !terminal(job.status) && job.startedAt) tr.querySelector('.duration').textContent = jobDuration(job);
    }
  }, 1000);
  signal.addEventListener('abort', () => clearInterval(ticker));

  load().then(() => followJobs('/api/v1/events', { signal, onJob, poll: () => loading ?? load(), every: 3000, endless: true }));
}
