/**
 * Latency percentiles as standalone SVG, in the manner of HdrHistogram's plots: the x axis is in "nines"
 * (p50, p90, p99, p99.9 evenly spaced: -log10(1 - p/100)), the y axis is latency on a log scale, and each
 * series (a phase, a workload of one engine) is a line through its percentiles. A series can be dashed
 * (the peer) and can share its colour with another (ours and the peer on the same workload).
 */
import { colour, escapeXml, f1, legend, scaleOf, shortNumber, svgOpen, WIDTH, yAxis } from './svg.js';

export interface PercentileSeries {
  name: string;
  /** `p` in (0, 100), e.g. 50, 99, 99.9; `value` the latency at it. */
  points: readonly { p: number; value: number }[];
  dashed?: boolean;
  /** Palette index; by default the series' position. */
  colourIndex?: number;
}

export interface PercentileChart {
  title: string;
  yLabel: string;
  series: readonly PercentileSeries[];
}

const LEFT = 70;
const RIGHT = 30;
const PLOT_H = 320;

/** Position of percentile p on the nines axis (p50 → 0.3, p90 → 1, p99 → 2, p99.9 → 3). */
export const nines = (p: number): number => -Math.log10(1 - Math.min(99.9999, Math.max(0, p)) / 100);

export function percentileChartSvg(c: PercentileChart): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const key = legend(
    c.series.map((s, i) => ({ label: s.name, colour: colour(s.colourIndex ?? i), dashed: s.dashed === true })),
    LEFT,
    40,
    plotW,
  );
  const top = 40 + key.height + 14;
  const height = top + PLOT_H + 44;
  const points = c.series.flatMap((s) => s.points.filter((pt) => Number.isFinite(pt.value) && Number.isFinite(pt.p)));
  const y = scaleOf('log', points.map((pt) => pt.value), top + PLOT_H, top);
  const ps = [...new Set(points.map((pt) => pt.p))].sort((a, b) => a - b);
  const lo = nines(ps[0] ?? 50);
  const hi = Math.max(lo + 1, nines(ps.at(-1) ?? 99.9));
  const pad = 24; // keeps the first and last points off the frame
  const x = (p: number) => LEFT + pad + ((nines(p) - lo) / (hi - lo)) * (plotW - 2 * pad);

  const out = svgOpen(WIDTH, height, c.title);
  out.push(...key.markup);
  for (const p of ps) {
    const tx = f1(x(p));
    out.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${top + PLOT_H + 4}" stroke="#dddddd"/>`);
    out.push(`<text x="${tx}" y="${top + PLOT_H + 16}" text-anchor="middle">p${Number(p.toPrecision(6))}</text>`);
  }
  out.push(...yAxis(y, { left: LEFT, top, width: plotW, height: PLOT_H }, c.yLabel));
  out.push(`<text x="${LEFT + plotW / 2}" y="${height - 8}" text-anchor="middle">percentile (each step right is one more nine)</text>`);
  c.series.forEach((s, i) => {
    const pts = s.points.filter((pt) => Number.isFinite(pt.value) && Number.isFinite(pt.p)).sort((a, b) => a.p - b.p);
    if (pts.length === 0) return;
    const col = colour(s.colourIndex ?? i);
    const dash = s.dashed === true ? ' stroke-dasharray="5 4"' : '';
    out.push(`<g class="series"><title>${escapeXml(`${s.name}: ${pts.map((pt) => `p${pt.p} ${shortNumber(pt.value)}`).join(', ')}`)}</title>`);
    out.push(`<polyline points="${pts.map((pt) => `${f1(x(pt.p))},${f1(y.at(pt.value))}`).join(' ')}" fill="none" stroke="${col}" stroke-width="1.8"${dash}/>`);
    for (const pt of pts) out.push(`<circle cx="${f1(x(pt.p))}" cy="${f1(y.at(pt.value))}" r="2.5" fill="${col}"/>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
