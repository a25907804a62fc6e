// The leaderboard: succeeded jobs grouped by name, best performance first (GET /api/v1/leaderboard), and a chart of each
// name's performance over its submissions. Refreshed when a job succeeds (events stream) or every 10 s (polling).

import { followJobs, getJson } from './api.js';
import { el, jobLink, perf, shortId, showNotice, time } from './dom.js';
import { performanceChart } from './chart.js';

export function leaderboardPage(main, signal) {
  const body = el('tbody');
  const chart = el('div', { id: 'chart' });
  const scanned = el('p', { class: 'muted' });
  main.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Leaderboard')),
    el('section', { class: 'card' }, el('table', { class: 'leaderboard' },
      el('thead', {}, el('tr', {}, ['#', 'Name', 'Best performance', 'Best job', 'Submissions', 'Finished'].map(h => el('th', { scope: 'col', class: h === 'Best performance' || h === 'Submissions' ? 'num' : null }, h)))),
      body), scanned),
    el('section', { class: 'card' }, el('h2', {}, 'Performance over submissions'), chart));

  async function load() {
    const board = await getJson('/api/v1/leaderboard', { signal });
    if (signal.aborted) return;
    showNotice('');
    body.replaceChildren(...board.items.map((item, i) => el('tr', { 'data-name': item.name },
      el('td', { class: 'rank' }, i + 1),
      el('td', { class: 'name' }, item.name),
      el('td', { class: 'num best' }, perf(item.best.performance)),
      el('td', { class: 'id' }, jobLink(item.best.id, shortId(item.best.id))),
      el('td', { class: 'num' }, item.submissions),
      el('td', { class: 'time' }, time(item.best.finishedAt)))));
    if (board.items.length === 0) {
      body.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No succeeded job with a name and a performance yet.')));
    }
    scanned.textContent = `From the ${board.scanned} most recent succeeded job(s).`;
    chart.replaceChildren(board.items.length ? performanceChart(board.items) : el('p', { class: 'muted' }, 'Nothing to draw yet.'));
  }

  // One read at a time; a refresh asked for while one is in flight (a job succeeded after that read started) runs once
  // more when it ends, so the board never stays older than the last success it was told about.
  let pending = null;
  let again = false;
  const refresh = () => {
    if (pending) {
      again = true;
      return pending;
    }
    pending = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch (e) {
          if (!signal.aborted) showNotice(`Could not load the leaderboard: ${e.message}`);
        }
      } while (again && !signal.aborted);
    })().finally(() => { pending = null; });
    return pending;
  };
  refresh().then(() => followJobs('/api/v1/events', {
    signal,
    onJob: job => { if (job.status === 'succeeded') refresh(); },
    poll: refresh,
    every: 10000,
    endless: true,
  }));
}
