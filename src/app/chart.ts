// The per-layer chart, plain SVG: one column per pruned linear, in run order, grouped by layer.
// Top: the linear's sparsity (its target as a tick). Bottom: its reconstruction error
// ‖X(W−Ŵ)‖² for the initial mask (light) and the final one (dark), on a log scale shared by all
// linears, so the refinement's gain reads as the drop from light to dark.
import type { LinearReport } from '../prune.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 720;
const H = 260;
const PAD = { left: 44, right: 8, top: 18, bottom: 22 };
const SPLIT = 100; // height of the sparsity panel

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** log10 range of the positive errors (a decade at least), for the error panel's scale. */
function logRange(entries: readonly LinearReport[]): [number, number] {
  const values = entries.flatMap((e) => [e.reconstructionError.initial, e.reconstructionError.final]).filter((v) => v > 0 && Number.isFinite(v));
  if (!values.length) return [0, 1];
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  return [lo, Math.max(hi, lo + 1)];
}

/** Draw `entries` into `svg` (replacing what is there); `layers` sets the column count ahead of time. */
export function drawChart(svg: SVGSVGElement, entries: readonly LinearReport[], layers: number, linearsPerLayer: number): void {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const columns = Math.max(1, layers * linearsPerLayer, entries.length);
  const cw = (W - PAD.left - PAD.right) / columns;
  const x = (i: number) => PAD.left + i * cw;
  const errTop = PAD.top + SPLIT + 24;
  const errH = H - PAD.bottom - errTop;
  const [lo, hi] = logRange(entries);
  const yErr = (v: number) => errTop + errH * (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo));

  svg.append(el('text', { x: PAD.left, y: 12, class: 'chart-title' }, 'sparsity per linear'));
  svg.append(el('text', { x: PAD.left, y: errTop - 6, class: 'chart-title' }, 'reconstruction error ‖X(W−Ŵ)‖² (log): initial mask, final mask'));
  svg.append(el('text', { x: PAD.left - 4, y: PAD.top + 8, class: 'axis', 'text-anchor': 'end' }, '1'));
  svg.append(el('text', { x: PAD.left - 4, y: PAD.top + SPLIT, class: 'axis', 'text-anchor': 'end' }, '0'));
  svg.append(el('text', { x: PAD.left - 4, y: errTop + 8, class: 'axis', 'text-anchor': 'end' }, `1e${hi}`));
  svg.append(el('text', { x: PAD.left - 4, y: errTop + errH, class: 'axis', 'text-anchor': 'end' }, `1e${lo}`));
  svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: PAD.top + SPLIT, y2: PAD.top + SPLIT, class: 'axis-line' }));
  svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: errTop + errH, y2: errTop + errH, class: 'axis-line' }));
  for (let l = 0; l < layers; l++) {
    const lx = x(l * linearsPerLayer);
    if (l > 0) svg.append(el('line', { x1: lx, x2: lx, y1: PAD.top, y2: H - PAD.bottom, class: 'layer-sep' }));
    svg.append(el('text', { x: lx + 2, y: H - 6, class: 'axis' }, `layer ${l + 1}`));
  }
  for (const [i, e] of entries.entries()) {
    const bar = Math.max(1, cw * 0.7);
    const s = Math.min(1, Math.max(0, e.sparsity));
    const g = el('g', { class: 'linear', 'data-linear': `${e.layer}.${e.linear}` });
    g.append(el('title', {}, `layer ${e.layer + 1} ${e.linear}: sparsity ${e.sparsity.toFixed(4)}, error ${e.reconstructionError.initial.toPrecision(4)} → ${e.reconstructionError.final.toPrecision(4)}`));
    g.append(el('rect', { x: x(i) + cw * 0.15, y: PAD.top + SPLIT * (1 - s), width: bar, height: SPLIT * s, class: 'sparsity' }));
    g.append(el('line', { x1: x(i), x2: x(i) + cw, y1: PAD.top + SPLIT * (1 - e.targetSparsity), y2: PAD.top + SPLIT * (1 - e.targetSparsity), class: 'target' }));
    const half = bar / 2;
    const base = errTop + errH;
    const yi = yErr(e.reconstructionError.initial);
    const yf = yErr(e.reconstructionError.final);
    g.append(el('rect', { x: x(i) + cw * 0.15, y: yi, width: half, height: base - yi, class: 'err-initial' }));
    g.append(el('rect', { x: x(i) + cw * 0.15 + half, y: yf, width: half, height: base - yf, class: 'err-final' }));
    svg.append(g);
  }
}
