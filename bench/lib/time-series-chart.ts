/**
 * A value over time as standalone SVG, with events marked: each series is drawn as separate segments
 * (no line across a gap, such as the restart between two systems), and each event (a phase starting, a
 * fault) is a dashed vertical line labelled with what happened. The cluster bench's throughput per
 * second is the user: one series per system, an event at each phase change.
 */
import { colour, escapeXml, f1, legend, niceStep, scaleOf, svgOpen, WIDTH, yAxis } from './svg.js';

export interface TimePoint {
  /** Seconds since the start of the chart. */
  t: number;
  v: number;
}

export interface TimeSeriesChart {
  title: string;
  yLabel: string;
  xLabel: string;
  series: readonly { name: string; segments: readonly (readonly TimePoint[])[] }[];
  events: readonly { t: number; label: string }[];
}

const LEFT = 70;
const RIGHT = 24;
const PLOT_H = 300;
const EVENT_COLOUR = '#c0392b';

export function timeSeriesSvg(c: TimeSeriesChart): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const key = legend(
    [...c.series.map((s, i) => ({ label: s.name, colour: colour(i) })), ...(c.events.length > 0 ? [{ label: 'event', colour: EVENT_COLOUR, dashed: true }] : [])],
    LEFT,
    40,
    plotW,
  );
  const top = 40 + key.height + 14;
  const height = top + PLOT_H + 44;
  const points = c.series.flatMap((s) => s.segments.flat()).filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const y = scaleOf('linear', points.map((p) => p.v), top + PLOT_H, top);
  const lastT = Math.max(1, ...points.map((p) => p.t), ...c.events.map((e) => e.t).filter(Number.isFinite));
  const step = niceStep(lastT, 12);
  const xMax = Math.ceil(lastT / step) * step;
  const x = (t: number) => LEFT + (Math.min(xMax, Math.max(0, t)) / xMax) * plotW;

  const out = svgOpen(WIDTH, height, c.title);
  out.push(...key.markup);
  for (let i = 0; i * step <= xMax + 1e-9; i++) {
    const t = Number((i * step).toPrecision(12));
    const tx = f1(x(t));
    out.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${top + PLOT_H + 4}" stroke="#eeeeee"/>`);
    out.push(`<text x="${tx}" y="${top + PLOT_H + 16}" text-anchor="middle">${t}</text>`);
  }
  out.push(...yAxis(y, { left: LEFT, top, width: plotW, height: PLOT_H }, c.yLabel));
  out.push(`<text x="${LEFT + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  // Events under the lines; labels run down beside their marker (rotated), so close events still fit.
  for (const e of c.events) {
    if (!Number.isFinite(e.t)) continue;
    const ex = x(e.t);
    out.push(`<g class="event"><title>${escapeXml(`${e.label} at ${e.t.toFixed(1)} s`)}</title>`);
    out.push(`<line x1="${f1(ex)}" y1="${top}" x2="${f1(ex)}" y2="${top + PLOT_H}" stroke="${EVENT_COLOUR}" stroke-dasharray="4 3"/>`);
    const side = ex > LEFT + plotW - 16 ? -13 : 3;
    out.push(`<text transform="translate(${f1(ex + side)} ${top + 4}) rotate(90)" fill="${EVENT_COLOUR}" font-size="10">${escapeXml(e.label)}</text></g>`);
  }
  c.series.forEach((s, i) => {
    for (const seg of s.segments) {
      const pts = seg.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
      if (pts.length === 0) continue;
      if (pts.length === 1) out.push(`<circle cx="${f1(x(pts[0]!.t))}" cy="${f1(y.at(pts[0]!.v))}" r="2" fill="${colour(i)}"/>`);
      else out.push(`<polyline points="${pts.map((p) => `${f1(x(p.t))},${f1(y.at(p.v))}`).join(' ')}" fill="none" stroke="${colour(i)}" stroke-width="1.8"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
