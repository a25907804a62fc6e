// The dashboard's entry point: a tiny client-side router over /, /leaderboard and /jobs/{id}, and the API key dialog.

import { ApiError, getKey, onUnauthorized, setKey } from './api.js';
import { el, go, showNotice } from './dom.js';
import { jobsPage } from './jobs.js';
import { jobPage } from './job.js';
import { leaderboardPage } from './leaderboard.js';

const routes = [
  [/^\/$/, 'jobs', (main, match, query, signal) => jobsPage(main, query, signal)],
  [/^\/leaderboard$/, 'leaderboard', (main, match, query, signal) => leaderboardPage(main, signal)],
  [/^\/jobs\/([0-9a-f]{32})$/, 'jobs', (main, match, query, signal) => jobPage(main, match[1], signal)],
];

let current = null;

function render() {
  current?.abort();
  current = new AbortController();
  showNotice('');
  const main = document.getElementById('main');
  main.replaceChildren();
  for (const [pattern, section, page] of routes) {
    const match = pattern.exec(location.pathname);
    if (match) {
      for (const link of document.querySelectorAll('[data-nav]')) {
        link.classList.toggle('active', link.dataset.nav === section);
      }
      page(main, match, new URLSearchParams(location.search), current.signal);
      return;
    }
  }
  main.append(el('p', { class: 'empty' }, 'No such page. ', el('a', { href: '/', 'data-link': true }, 'Back to the jobs.')));
}

document.addEventListener('click', event => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(link.getAttribute('href'));
});
window.addEventListener('popstate', render);

// The key dialog: opened by a 401 (one prompt for every request waiting on it) or by the header's button.
const dialog = document.getElementById('key-dialog');
const form = document.getElementById('key-form');
const input = document.getElementById('key-input');
const reason = document.getElementById('key-reason');
let waiting = null;
let declined = false; // the user closed the dialog: requests fail with 401 until they open it from the header

function openKeyDialog(why) {
  reason.textContent = `${why} It is kept in this browser tab only (sessionStorage).`;
  input.value = '';
  if (!dialog.open) dialog.showModal();
  input.focus();
}

onUnauthorized(why => {
  if (declined) return Promise.reject(new ApiError(401, 'Unauthorized', 'this Berth asks for an API key: use the API key button'));
  if (!waiting) {
    waiting = {};
    waiting.promise = new Promise((resolve, reject) => Object.assign(waiting, { resolve, reject }));
    openKeyDialog(why);
  }
  return waiting.promise;
});

function settle(ok) {
  dialog.close();
  const w = waiting;
  waiting = null;
  if (!w) return;
  if (ok) w.resolve();
  else {
    declined = true;
    w.reject(new ApiError(401, 'Unauthorized', 'this Berth asks for an API key: use the API key button'));
  }
}

form.addEventListener('submit', event => {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) return;
  setKey(key);
  declined = false;
  updateKeyButton();
  if (waiting) settle(true);
  else {
    dialog.close();
    render(); // a key typed from the header's button: show the page as that key sees it
  }
});
document.getElementById('key-cancel').addEventListener('click', () => settle(false));
dialog.addEventListener('cancel', event => { event.preventDefault(); settle(false); });
document.getElementById('key-forget').addEventListener('click', () => {
  setKey(null);
  updateKeyButton();
  settle(false);
  render();
});
document.getElementById('key-button').addEventListener('click', () => openKeyDialog('Type the API key to use.'));

function updateKeyButton() {
  document.getElementById('key-button').textContent = getKey() ? 'API key ✓' : 'API key';
  document.getElementById('key-forget').hidden = !getKey();
}

updateKeyButton();
render();
