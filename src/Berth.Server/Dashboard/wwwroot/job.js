// One job: stage timeline, live log (/logs?follow=true), lint findings, scan findings by severity (/report), SBOM
// download (/sbom), cancel and delete; live state from GET /api/v1/jobs/{id}/events (or polling).

import { ApiError, followJobs, getJson, request } from './api.js';
import { badge, duration, el, fill, go, jobDuration, perf, setLive, showNotice, sleep, terminal, time } from './dom.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'];

export function jobPage(main, id, signal) {
  let job = null;
  let scanKey = null; // the scan summary the report was loaded for

  const title = el('h1', {}, 'Job');
  const status = el('span');
  const cancel = el('button', { type: 'button', id: 'cancel', class: 'danger-outline', onclick: onCancel }, 'Cancel');
  const remove = el('button', { type: 'button', id: 'delete', class: 'danger', onclick: onDelete }, 'Delete');
  const sbom = el('button', { type: 'button', id: 'sbom', class: 'ghost', onclick: onSbom }, 'Download SBOM');
  const facts = el('dl', { class: 'facts' });
  const failure = el('div', { class: 'failure', id: 'failure', hidden: true });
  const stages = el('div', { class: 'timeline', id: 'stages' });
  const log = el('pre', { class: 'log', id: 'log', tabindex: 0 });
  const logState = el('span', { class: 'muted' });
  const lint = el('div', { id: 'lint' });
  const scan = el('div', { id: 'scan' }, el('p', { class: 'muted' }, 'No scan yet.'));

  main.append(
    el('div', { class: 'page-head' },
      el('div', { class: 'title' }, title, status),
      el('div', { class: 'buttons' }, sbom, cancel, remove)),
    failure,
    el('div', { class: 'grid' },
      el('section', { class: 'card' }, el('h2', {}, 'Details'), facts),
      el('section', { class: 'card' }, el('h2', {}, 'Stages'), stages)),
    el('section', { class: 'card' }, el('h2', {}, 'Log ', logState), log),
    el('section', { class: 'card' }, el('h2', {}, 'Lint findings'), lint),
    el('section', { class: 'card' }, el('h2', {}, 'Scan findings'), scan));

  function fact(name, ...value) {
    return [el('dt', {}, name), el('dd', {}, ...value)];
  }

  function show(view) {
    job = view;
    title.textContent = view.name ?? '(unnamed job)';
    status.replaceChildren(badge(view.status));
    facts.replaceChildren(
      ...fact('Id', el('code', {}, view.id)),
      ...fact('Owner', view.owner),
      ...fact('Performance', view.performance == null ? '—' : perf(view.performance)),
      ...fact('Created', time(view.createdAt)),
      ...fact('Duration', jobDuration(view) || '—'),
      ...fact('Exit code', view.exitCode ?? '—'),
      ...fact('Attempts', view.attempts),
      ...fact('Limits', `${view.limits.timeoutSeconds}s, ${view.limits.memoryMb} MB, ${view.limits.cpus} CPU`),
      ...(view.cacheHit ? fact('Image', 'reused (cache hit)') : []),
      ...(view.agent ? fact('Agent', view.agent) : []),
      ...(view.webhook ? fact('Webhook', `${view.webhook.attempts} attempt(s), last status ${view.webhook.lastStatus ?? '—'}`) : []));
    failure.hidden = !view.failure;
    failure.replaceChildren(...(view.failure ? [el('strong', {}, view.failure.reason), ' ', view.failure.message] : []));
    cancel.disabled = terminal(view.status);
    remove.disabled = !terminal(view.status);
    sbom.disabled = !view.scan || view.scan.status === 'skipped';
    showStages(view);
    showLint(view.lint ?? []);
    const key = JSON.stringify(view.scan);
    if (view.scan && key !== scanKey) {
      scanKey = key;
      loadReport();
    }
  }

  function showStages(view) {
    const starts = view.stages.map(s => s.startedAt && Date.parse(s.startedAt)).filter(Boolean);
    const from = Math.min(...starts);
    const ends = [from + 1, ...view.stages.map(s => s.finishedAt && Date.parse(s.finishedAt)).filter(Boolean)];
    if (!terminal(view.status)) ends.push(Date.now());
    const to = Math.max(...ends);
    const span = to - from;
    stages.replaceChildren(...view.stages.map(stage => {
      const start = stage.startedAt ? Date.parse(stage.startedAt) : null;
      const end = stage.finishedAt ? Date.parse(stage.finishedAt) : (stage.status === 'running' ? Date.now() : null);
      const bar = el('div', { class: `bar stage-${stage.status}` });
      if (start && starts.length > 0) {
        bar.style.marginLeft = `${((start - from) / span) * 100}%`;
        bar.style.width = `${Math.max(1, (((end ?? start) - start) / span) * 100)}%`;
      } else {
        bar.style.width = '0';
      }
      return el('div', { class: 'stage', 'data-stage': stage.name, 'data-status': stage.status },
        el('span', { class: 'stage-name' }, stage.name),
        el('div', { class: 'track' }, bar),
        el('span', { class: 'stage-time' }, start && end ? duration(end - start) : stage.status));
    }));
  }

  function showLint(findings) {
    if (findings.length === 0) {
      lint.replaceChildren(el('p', { class: 'muted' }, 'No lint findings.'));
      return;
    }
    lint.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['Line', 'Severity', 'Rule', 'Message'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, findings.map(f => el('tr', {},
        el('td', { class: 'num' }, f.line), el('td', {}, el('span', { class: `sev sev-${f.severity}` }, f.severity)),
        el('td', {}, el('code', {}, f.rule)), el('td', {}, f.message))))));
  }

  async function loadReport() {
    try {
      const report = await getJson(`/api/v1/jobs/${id}/report`, { signal });
      showScan(report.scan);
    } catch (e) {
      if (!signal.aborted) scan.replaceChildren(el('p', { class: 'muted' }, `No report: ${e.message}`));
    }
  }

  function showScan(report) {
    if (!report) {
      scan.replaceChildren(el('p', { class: 'muted' }, job?.scan?.status === 'skipped' ? 'The scan was skipped.' : 'No scan report yet.'));
      return;
    }
    const counts = report.findings ?? {};
    const summary = el('div', { class: 'counts' },
      SEVERITIES.map(s => el('span', { class: `count sev-${s}${counts[s] ? '' : ' zero'}`, 'data-severity': s }, el('b', {}, counts[s] ?? 0), ` ${s}`)),
      el('span', { class: 'muted' }, ` ${report.packages} packages in ${report.image}`, report.distro ? ` (${report.distro.prettyName ?? `${report.distro.id} ${report.distro.versionId}`})` : ''));
    const openAll = (report.details ?? []).length <= 30;
    const groups = SEVERITIES.map(severity => {
      const findings = (report.details ?? []).filter(f => (f.severity ?? 'unknown') === severity);
      if (findings.length === 0) return null;
      return el('details', { class: 'severity-group', open: openAll || severity === 'critical' || severity === 'high', 'data-severity': severity },
        el('summary', {}, el('span', { class: `sev sev-${severity}` }, severity), ` ${findings.length} finding(s)`),
        el('table', {},
          el('thead', {}, el('tr', {}, ['Advisory', 'Package', 'Installed', 'Fixed in', 'Where', ''].map(h => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, findings.map(f => el('tr', { class: f.ignored ? 'ignored' : null },
            el('td', {}, advisory(f)),
            el('td', {}, f.package, el('span', { class: 'muted' }, ` ${f.type}`)),
            el('td', {}, el('code', {}, f.installedVersion)),
            el('td', {}, f.fixedVersion ? el('code', { class: 'fixed' }, f.fixedVersion) : el('span', { class: 'muted' }, 'no fix')),
            el('td', { class: 'where' }, f.location?.path ?? ''),
            el('td', { class: 'muted' }, f.ignored ? `ignored: ${f.ignored}` : ''))))));
    });
    const warnings = [...(report.warnings ?? []), ...(report.incomplete ?? [])].map(w => el('li', {}, w));
    fill(scan, summary, groups,
      (report.details ?? []).length === 0 ? el('p', { class: 'muted' }, 'No findings.') : null,
      warnings.length ? el('ul', { class: 'warnings' }, warnings) : null);
  }

  function advisory(finding) {
    const text = [el('span', { class: 'advisory' }, finding.advisoryId)];
    if (finding.summary) text.push(el('div', { class: 'muted summary' }, finding.summary));
    if (typeof finding.advisoryUrl === 'string' && /^https:\/\//.test(finding.advisoryUrl)) {
      const a = el('a', { rel: 'noreferrer noopener', target: '_blank' }, finding.advisoryId);
      a.href = finding.advisoryUrl;
      text[0] = a;
    }
    return text;
  }

  // The log: streamed while the job runs. A server without follow answers the whole log at once and closes; then the
  // log is fetched again every 2 s until the job is terminal.
  async function followLog() {
    while (!signal.aborted) {
      try {
        const response = await request(`/api/v1/jobs/${id}/logs?follow=true`, { signal });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const text = document.createTextNode('');
        log.replaceChildren(text);
        logState.textContent = '(following)';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          text.appendData(value);
          if (atBottom) log.scrollTop = log.scrollHeight;
        }
        const now = await getJson(`/api/v1/jobs/${id}`, { signal });
        if (terminal(now.status)) {
          logState.textContent = '(complete)';
          return;
        }
      } catch (e) {
        if (signal.aborted || (e instanceof ApiError && e.status === 404)) return;
        logState.textContent = `(${e.message})`;
      }
      await sleep(2000, signal);
    }
  }

  async function onCancel() {
    cancel.disabled = true;
    try {
      const view = await getJson(`/api/v1/jobs/${id}/cancel`, { method: 'POST', signal });
      // A running job's cancel answers with its state before the cancel took effect; the stream may already have
      // shown the end (and closed), which an older state must not replace.
      if (!terminal(job?.status)) show(view);
      showNotice('');
    } catch (e) {
      showNotice(`Could not cancel: ${e.message}`);
      cancel.disabled = terminal(job?.status);
    }
  }

  let confirmTimer = null;
  async function onDelete() {
    if (!remove.classList.contains('confirm')) {
      remove.classList.add('confirm');
      remove.textContent = 'Delete for good?';
      confirmTimer = setTimeout(() => { remove.classList.remove('confirm'); remove.textContent = 'Delete'; }, 4000);
      return;
    }
    clearTimeout(confirmTimer);
    try {
      await request(`/api/v1/jobs/${id}`, { method: 'DELETE', signal });
      go('/');
    } catch (e) {
      showNotice(`Could not delete: ${e.message}`);
    }
  }

  async function onSbom() {
    try {
      const blob = await (await request(`/api/v1/jobs/${id}/sbom`, { signal })).blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: `berth-${id}.cdx.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      showNotice(`No SBOM: ${e.message}`);
    }
  }

  async function poll() {
    const view = await getJson(`/api/v1/jobs/${id}`, { signal });
    show(view);
    return terminal(view.status) ? 'stop' : null;
  }

  (async () => {
    try {
      await poll();
    } catch (e) {
      if (!signal.aborted) {
        showNotice(e instanceof ApiError && e.status === 404 ? `No job ${id} (it was deleted, or belongs to another owner).` : `Could not load the job: ${e.message}`);
      }
      return;
    }
    followLog();
    if (terminal(job.status)) setLive('idle');
    else followJobs(`/api/v1/jobs/${id}/events`, { signal, onJob: show, poll, every: 2000 });
    const ticker = setInterval(() => { if (job && !terminal(job.status)) showStages(job); }, 1000);
    signal.addEventListener('abort', () => clearInterval(ticker));
  })();
}
