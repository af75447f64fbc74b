/**
 * A grouped bar chart as standalone SVG: one group per category (a workload, a scenario), one bar per
 * series in each (ours, the peer measured in the same run), each bar labelled with its value. A missing
 * value leaves a gap, so the bars of a series stay in the same place in every group. A log scale keeps
 * rows that differ a thousandfold (LSM fillsync against fillseq) readable on one chart.
 */
import { colour, escapeXml, f1, legend, scaleOf, shortNumber, svgOpen, WIDTH, yAxis } from './svg.js';

export interface BarChart {
  title: string;
  yLabel: string;
  scale: 'linear' | 'log';
  /** The categories along the x axis, in order. */
  groups: readonly string[];
  /** `values[i]` is the bar in `groups[i]`; undefined (or not finite) draws no bar. */
  series: readonly { name: string; values: readonly (number | undefined)[] }[];
}

const LEFT = 70;
const RIGHT = 20;
const PLOT_H = 300;

export function barChartSvg(c: BarChart): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const key = legend(c.series.map((s, i) => ({ label: s.name, colour: colour(i) })), LEFT, 40, plotW);
  const top = 40 + key.height + 40; // room above the frame for the tallest bar's label
  const groupW = plotW / Math.max(1, c.groups.length);
  // Labels longer than their group are slanted so they do not run into each other.
  const slant = c.groups.some((g) => g.length * 6.2 > groupW - 4);
  const bottom = slant ? 20 + Math.min(120, Math.max(...c.groups.map((g) => g.length)) * 4.5) : 34;
  const height = top + PLOT_H + bottom;
  const values = c.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const y = scaleOf(c.scale, values, top + PLOT_H, top);

  const out = svgOpen(WIDTH, height, c.title);
  out.push(...key.markup);
  out.push(...yAxis(y, { left: LEFT, top, width: plotW, height: PLOT_H }, c.yLabel));
  const n = Math.max(1, c.series.length);
  const barW = Math.max(1, (groupW * 0.8) / n);
  c.groups.forEach((g, gi) => {
    const gx = LEFT + gi * groupW + groupW * 0.1;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === undefined || !Number.isFinite(v)) return;
      const x = gx + si * barW;
      const y0 = y.at(y.base);
      const y1 = Math.min(y0, y.at(v));
      out.push(`<rect class="bar" x="${f1(x)}" y="${f1(y1)}" width="${f1(Math.max(1, barW - 1))}" height="${f1(y0 - y1)}" fill="${colour(si)}"><title>${escapeXml(`${s.name}, ${g}: ${shortNumber(v)}`)}</title></rect>`);
      const cx = x + barW / 2;
      if (barW >= 30) out.push(`<text x="${f1(cx)}" y="${f1(y1 - 3)}" text-anchor="middle" font-size="9">${shortNumber(v)}</text>`);
      else out.push(`<text transform="translate(${f1(cx + 3)} ${f1(y1 - 3)}) rotate(-90)" font-size="9">${shortNumber(v)}</text>`);
    });
    const lx = LEFT + (gi + 0.5) * groupW;
    const ly = top + PLOT_H + 14;
    if (slant) out.push(`<text transform="translate(${f1(lx)} ${f1(ly)}) rotate(-35)" text-anchor="end">${escapeXml(g)}</text>`);
    else out.push(`<text x="${f1(lx)}" y="${f1(ly)}" text-anchor="middle">${escapeXml(g)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
