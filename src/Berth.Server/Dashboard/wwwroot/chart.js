// A hand-drawn SVG line chart: each name's performance over its submissions (1st, 2nd, ...), one series per name.

import { el, perf, svg } from './dom.js';

const WIDTH = 760;
const HEIGHT = 300;
const PAD = { left: 64, right: 16, top: 16, bottom: 40 };
export const SERIES_LIMIT = 8;

/** Round tick values in [min, max], about `count` of them, 1, 2 or 5 times a power of ten apart. */
function niceTicks(min, max, count = 5) {
  if (min === max) return [min];
  const raw = (max - min) / (count - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * power).reduce((best, s) => (Math.abs(s - raw) < Math.abs(best - raw) ? s : best));
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** items: leaderboard items (best first); draws the first SERIES_LIMIT names. Returns the figure element. */
export function performanceChart(items) {
  const shown = items.slice(0, SERIES_LIMIT);
  const points = shown.flatMap(item => item.history.map(h => h.performance));
  const maxCount = Math.max(1, ...shown.map(item => item.history.length));
  let low = Math.min(...points);
  let high = Math.max(...points);
  if (low === high) { low -= Math.abs(low) * 0.1 || 1; high += Math.abs(high) * 0.1 || 1; }
  const margin = (high - low) * 0.08;
  low -= margin;
  high += margin;
  const x = n => PAD.left + (maxCount === 1 ? (WIDTH - PAD.left - PAD.right) / 2 : ((n - 1) / (maxCount - 1)) * (WIDTH - PAD.left - PAD.right));
  const y = v => PAD.top + (1 - (v - low) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);

  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': 'Performance over submissions, per name' });
  for (const value of niceTicks(low, high)) {
    chart.append(
      svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: 'grid' }),
      svg('text', { x: PAD.left - 8, y: y(value) + 4, class: 'tick', 'text-anchor': 'end' }, perf(value)));
  }
  const xTicks = niceTicks(1, maxCount, Math.min(maxCount, 8)).filter(n => Number.isInteger(n) && n >= 1);
  for (const n of xTicks) {
    chart.append(svg('text', { x: x(n), y: HEIGHT - PAD.bottom + 18, class: 'tick', 'text-anchor': 'middle' }, String(n)));
  }
  chart.append(
    svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom, class: 'axis' }),
    svg('text', { x: (WIDTH + PAD.left) / 2, y: HEIGHT - 6, class: 'label', 'text-anchor': 'middle' }, 'submission'),
    svg('text', { x: 14, y: PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2, class: 'label', 'text-anchor': 'middle', transform: `rotate(-90 14 ${PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2})` }, 'performance'));

  shown.forEach((item, i) => {
    const coords = item.history.map((h, n) => [x(n + 1), y(h.performance), h]);
    const group = svg('g', { class: `series series-${i}`, 'data-name': item.name });
    if (coords.length > 1) group.append(svg('polyline', { points: coords.map(([cx, cy]) => `${cx},${cy}`).join(' ') }));
    for (const [cx, cy, h] of coords) {
      group.append(svg('circle', { cx, cy, r: h.id === item.best.id ? 5 : 3, class: h.id === item.best.id ? 'best' : null },
        svg('title', {}, `${item.name}: ${perf(h.performance)}`)));
    }
    chart.append(group);
  });

  const legend = el('ul', { class: 'legend' }, shown.map((item, i) => el('li', {}, el('span', { class: `swatch series-${i}` }), item.name)));
  return el('figure', { class: 'chart-figure' }, chart, legend,
    items.length > SERIES_LIMIT ? el('figcaption', { class: 'muted' }, `The ${SERIES_LIMIT} best names of ${items.length}.`) : null);
}
