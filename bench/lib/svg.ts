/**
 * What the bench charts (bar-chart.ts, percentile-chart.ts, time-series-chart.ts) share: escaping, the
 * palette, axis scales with readable ticks (linear 1-2-5 steps, or decades on a log scale), number
 * formatting and the document frame. Hand-written, like test/faults/latency-chart.ts: three chart shapes
 * do not need a plotting library, and plain markup in, markup out is easy to test.
 */

export const WIDTH = 960;
export const FONT = 'font-family="sans-serif" font-size="11"';

/** Distinguishable on white and in grey print; series take them in order, wrapping around. */
export const PALETTE = ['#1f4e9e', '#e07b00', '#2a9d4a', '#c0392b', '#7b4fa0', '#8c564b', '#d6619e', '#5f6b73', '#a8a800', '#17a2b8'] as const;

export const colour = (i: number): string => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A coordinate with one decimal (0 for anything not finite, so no "NaN" reaches the markup). */
export const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '0');

/** 1,234,567 → "1.23M", 12,345 → "12.3k", 0.25 → "0.25": short labels for ticks and bar tops. */
export function shortNumber(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  const trim = (s: string) => s.replace(/\.0+$|(\.\d*?)0+$/, '$1');
  if (a >= 1e9) return `${trim((n / 1e9).toFixed(2))}G`;
  if (a >= 1e6) return `${trim((n / 1e6).toFixed(2))}M`;
  if (a >= 1e4) return `${trim((n / 1e3).toFixed(1))}k`;
  if (a >= 100) return String(Math.round(n));
  if (a >= 1) return trim(n.toFixed(2));
  if (a === 0) return '0';
  return trim(n.toPrecision(2));
}

/** A 1-2-5 step giving at most `maxTicks` ticks over `span` (> 0). */
export function niceStep(span: number, maxTicks: number): number {
  const raw = span / maxTicks;
  const decade = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * decade).find((s) => s >= raw) ?? 10 * decade;
}

/** Maps data values to pixels along one axis, with its tick values. */
export interface Scale {
  /** Pixel position of `v` (values outside the domain are clamped to its ends). */
  at(v: number): number;
  ticks: number[];
  /** The value the axis starts at (bars grow from there). */
  base: number;
}

/**
 * A scale over [0, max] (linear) or over whole decades around [min, max] (log; non-positive values are
 * drawn at the bottom). `from` and `to` are the pixel ends: on a y axis `from` is the bottom.
 */
export function scaleOf(kind: 'linear' | 'log', values: readonly number[], from: number, to: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v));
  if (kind === 'log') {
    const positive = finite.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(positive.length === 0 ? 1 : Math.min(...positive)));
    let hi = Math.ceil(Math.log10(positive.length === 0 ? 10 : Math.max(...positive)));
    if (hi <= lo) hi = lo + 1;
    const at = (v: number) => from + ((Math.min(hi, Math.max(lo, v > 0 ? Math.log10(v) : lo)) - lo) / (hi - lo)) * (to - from);
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    return { at, ticks, base: 10 ** lo };
  }
  const max = Math.max(0, ...finite);
  const step = niceStep(max > 0 ? max : 1, 6);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const at = (v: number) => from + (Math.min(top, Math.max(0, Number.isFinite(v) ? v : 0)) / top) * (to - from);
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => Number((i * step).toPrecision(12)));
  return { at, ticks, base: 0 };
}

/** The opening tag, a white background and the title; close with `</svg>`. */
export function svgOpen(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

/** Horizontal grid lines with labels on the left, the frame, and the y axis title. */
export function yAxis(scale: Scale, box: { left: number; top: number; width: number; height: number }, label: string, tickLabel: (v: number) => string = shortNumber): string[] {
  const out: string[] = [];
  for (const t of scale.ticks) {
    const y = f1(scale.at(t));
    out.push(`<line x1="${box.left - 4}" y1="${y}" x2="${box.left + box.width}" y2="${y}" stroke="#dddddd"/>`);
    out.push(`<text x="${box.left - 7}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  out.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#333333"/>`);
  out.push(`<text transform="translate(16 ${f1(box.top + box.height / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`);
  return out;
}

/**
 * A legend of coloured swatches in rows across `width` from (x, y); returns the markup and the height
 * it took (so the plot below can start after it).
 */
export function legend(entries: readonly { label: string; colour: string; dashed?: boolean }[], x: number, y: number, width: number): { markup: string[]; height: number } {
  const out = [`<g class="legend" transform="translate(${x} ${y})">`];
  let lx = 0;
  let row = 0;
  for (const e of entries) {
    const w = 30 + e.label.length * 6.2;
    if (lx > 0 && lx + w > width) {
      lx = 0;
      row++;
    }
    const dash = e.dashed === true ? ' stroke-dasharray="4 3"' : '';
    out.push(
      `<g transform="translate(${f1(lx)} ${row * 16})"><line x1="0" y1="0" x2="14" y2="0" stroke="${e.colour}" stroke-width="3"${dash}/>` +
        `<text x="18" y="0" dominant-baseline="middle">${escapeXml(e.label)}</text></g>`,
    );
    lx += w;
  }
  out.push('</g>');
  return { markup: out, height: entries.length === 0 ? 0 : (row + 1) * 16 };
}
