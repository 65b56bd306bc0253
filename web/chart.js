// The hour's chart: calls waiting (bars, left scale) and the 15-minute service level (line, right
// scale, with the 80 % target dashed), one point a minute from QueueSummary.history. Plain SVG.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 180;
const PAD = { left: 34, right: 40, top: 12, bottom: 22 };
const HOUR_MS = 60 * 60 * 1000;
const TARGET = 0.8;

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  if (text !== null) {
    node.textContent = text;
  }
  return node;
}

// A scale top for `max` waiting calls: 4, 8, 12, 20, 40, ... so the ticks are whole numbers.
function niceMax(max) {
  for (const step of [4, 8, 12, 20, 40, 60, 100, 200, 400, 1000]) {
    if (max <= step) {
      return step;
    }
  }
  return Math.ceil(max / 1000) * 1000;
}

function clock(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// Draws `history` (oldest first) ending at `endMs` (the daemon's time) into `svg`, replacing what
// it held. `labels`: {waiting, serviceLevel, target, empty}.
export function drawChart(svg, history, endMs, labels) {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${labels.waiting}; ${labels.serviceLevel}`);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const end = endMs ?? Date.now();
  const start = end - HOUR_MS;
  const x = (ms) => PAD.left + ((ms - start) / HOUR_MS) * plotW;
  const points = history.filter((p) => p.atMs !== null && p.atMs > start - 60000);
  const yMax = niceMax(Math.max(1, ...points.map((p) => p.waiting)));
  const yWaiting = (n) => PAD.top + plotH - (n / yMax) * plotH;
  const ySl = (v) => PAD.top + plotH - v * plotH;

  // Grid and scales.
  const grid = el('g', { class: 'chart-grid' });
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + (plotH * i) / 4;
    grid.append(el('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y }));
    grid.append(el('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', class: 'chart-scale waiting' },
      String(Math.round(yMax * (1 - i / 4)))));
    grid.append(el('text', { x: WIDTH - PAD.right + 4, y: y + 4, class: 'chart-scale sl' },
      `${Math.round(100 * (1 - i / 4))}%`));
  }
  for (let m = 0; m <= 60; m += 15) {
    const t = start + m * 60000;
    grid.append(el('text', { x: x(t), y: HEIGHT - 6, 'text-anchor': 'middle', class: 'chart-scale' },
      clock(t)));
  }
  svg.append(grid);

  if (points.length === 0) {
    svg.append(el('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'chart-empty' },
      labels.empty));
    return;
  }

  // One bar per minute, ending at its point's time.
  const barW = Math.max(1, plotW / 60 - 1.5);
  const bars = el('g', { class: 'chart-waiting' });
  for (const p of points) {
    const top = yWaiting(p.waiting);
    const left = Math.max(PAD.left, x(p.atMs) - barW);
    const bar = el('rect', {
      x: left, y: top, width: Math.max(0, x(p.atMs) - left), height: PAD.top + plotH - top,
    });
    bar.append(el('title', {}, `${clock(p.atMs)} · ${labels.waiting}: ${p.waiting}`));
    bars.append(bar);
  }
  svg.append(bars);

  const target = ySl(TARGET);
  svg.append(el('line', {
    x1: PAD.left, x2: WIDTH - PAD.right, y1: target, y2: target, class: 'chart-target',
  }));
  svg.append(el('text', { x: WIDTH - PAD.right - 4, y: target - 4, 'text-anchor': 'end', class: 'chart-target-label' },
    labels.target));

  // The service level line, broken where a minute had no calls to count.
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.serviceLevel === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.atMs).toFixed(1)},${ySl(p.serviceLevel).toFixed(1)}`;
    pen = true;
  }
  if (d) {
    svg.append(el('path', { d, class: 'chart-sl' }));
  }
  for (const p of points) {
    if (p.serviceLevel !== null) {
      const dot = el('circle', { cx: x(p.atMs), cy: ySl(p.serviceLevel), r: 2.5, class: 'chart-sl-dot' });
      dot.append(el('title', {}, `${clock(p.atMs)} · ${labels.serviceLevel}: ${Math.round(p.serviceLevel * 100)}%`));
      svg.append(dot);
    }
  }
}
