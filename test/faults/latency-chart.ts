/**
 * The latency-over-time chart of a fault run, as a standalone SVG written by hand (no plotting
 * dependency): one dot per completed operation at the second it was invoked, its latency on a log
 * scale, coloured by outcome (ok / fail / info, i.e. unknown); a line through each second's p99; every
 * fault window (a nemesis `start X` … `end X` pair) shaded and labelled with what ran, and any other
 * fault event (the scripted scenarios' "isolate n3", "heal") as a dashed marker. Pure: history in,
 * markup out, so it is unit-tested without a cluster.
 */
import type { FaultEvent, Op } from './history.js';

/** A completed operation: invoked at `at` ms, completed `latency` ms later. */
export interface Sample {
  at: number;
  latency: number;
  outcome: Exclude<Op['type'], 'invoke'>;
}

/** A fault that was applied at `from` ms and undone at `to` ms (or still on when the history ended). */
export interface FaultWindow {
  what: string;
  from: number;
  to: number;
}

const WIDTH = 960;
const HEIGHT = 480;
const LEFT = 70;
const RIGHT = 20;
const TOP = 56;
const BOTTOM = 50;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;
const COLOURS = { ok: '#2a9d4a', fail: '#d62828', info: '#e89b00', p99: '#1f4e9e', fault: '#c0392b' } as const;

/** Pairs each completion with its process's pending invoke (processes are sequential, as in Jepsen). */
export function latencySamples(ops: readonly Op[]): Sample[] {
  const pending = new Map<number, Op>();
  const out: Sample[] = [];
  for (const op of ops) {
    if (op.type === 'invoke') {
      pending.set(op.process, op);
      continue;
    }
    const invoked = pending.get(op.process);
    if (invoked === undefined) continue;
    pending.delete(op.process);
    out.push({ at: invoked.time, latency: op.time - invoked.time, outcome: op.type });
  }
  return out;
}

/** Fault windows from `start X` / `end X` pairs; every other event is a point marker. */
export function faultWindows(faults: readonly FaultEvent[], endMs: number): { windows: FaultWindow[]; markers: FaultEvent[] } {
  const open = new Map<string, number>();
  const windows: FaultWindow[] = [];
  const markers: FaultEvent[] = [];
  for (const e of [...faults].sort((a, b) => a.time - b.time)) {
    if (e.what.startsWith('start ')) {
      open.set(e.what.slice('start '.length), e.time);
      continue;
    }
    const what = e.what.startsWith('end ') ? e.what.slice('end '.length) : undefined;
    const from = what === undefined ? undefined : open.get(what);
    if (what === undefined || from === undefined) {
      markers.push(e);
      continue;
    }
    open.delete(what);
    windows.push({ what, from, to: e.time });
  }
  for (const [what, from] of open) windows.push({ what, from, to: endMs });
  return { windows: windows.sort((a, b) => a.from - b.from), markers };
}

/** Each second's 99th-percentile latency (nearest rank), keyed by the second the operations began in. */
export function p99PerSecond(samples: readonly Sample[]): { second: number; p99: number }[] {
  const bySecond = new Map<number, number[]>();
  for (const s of samples) {
    const second = Math.floor(s.at / 1000);
    const list = bySecond.get(second) ?? [];
    list.push(s.latency);
    bySecond.set(second, list);
  }
  return [...bySecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([second, list]) => {
      list.sort((a, b) => a - b);
      return { second, p99: list[Math.max(0, Math.ceil(list.length * 0.99) - 1)] ?? 0 };
    });
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A 1-2-5 step giving at most `maxTicks` ticks over `span`. */
function niceStep(span: number, maxTicks: number): number {
  const raw = span / maxTicks;
  const decade = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].map((m) => m * decade).find((s) => s >= raw)) ?? 10 * decade;
}

function msLabel(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

const f1 = (n: number): string => n.toFixed(1);

/** The whole chart; `title` is escaped. Latencies under 1 ms are drawn on the 1 ms line. */
export function latencyChartSvg(history: { readonly ops: readonly Op[]; readonly faults: readonly FaultEvent[] }, title: string): string {
  const samples = latencySamples(history.ops);
  const lastMs = Math.max(1000, ...history.ops.map((o) => o.time), ...history.faults.map((e) => e.time));
  const { windows, markers } = faultWindows(history.faults, lastMs);
  // The x axis ends on a tick, so the last event (often "recover all") is not on the frame.
  const xStep = niceStep(lastMs / 1000, 12);
  const xMaxS = Math.ceil(lastMs / 1000 / xStep) * xStep;
  const yMaxDecade = Math.max(1, Math.ceil(Math.log10(Math.max(10, ...samples.map((s) => s.latency)))));
  const x = (ms: number): number => LEFT + (ms / 1000 / xMaxS) * PLOT_W;
  const y = (ms: number): number => TOP + PLOT_H - (Math.log10(Math.max(1, ms)) / yMaxDecade) * PLOT_H;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);

  // Fault windows first, so the dots and the p99 line are drawn over them. Labels run down the
  // window's left edge (rotated: glyphs sit to the right of the baseline), so narrow windows fit too.
  for (const w of windows) {
    const x0 = x(w.from);
    const width = Math.max(1, x(w.to) - x0);
    out.push(`<g class="fault-window"><title>${escapeXml(`${w.what}: ${f1(w.from / 1000)}–${f1(w.to / 1000)} s`)}</title>`);
    out.push(`<rect class="fault" x="${f1(x0)}" y="${TOP}" width="${f1(width)}" height="${PLOT_H}" fill="${COLOURS.fault}" fill-opacity="0.12"/>`);
    out.push(`<text class="fault-label" transform="translate(${f1(x0 + 4)} ${TOP + 4}) rotate(90)" fill="${COLOURS.fault}">${escapeXml(w.what)}</text></g>`);
  }
  for (const m of markers) {
    const mx = f1(x(m.time));
    out.push(`<line class="fault-marker" x1="${mx}" y1="${TOP}" x2="${mx}" y2="${TOP + PLOT_H}" stroke="${COLOURS.fault}" stroke-dasharray="4 3"/>`);
    const side = x(m.time) > LEFT + PLOT_W - 16 ? -14 : 3; // at the right edge, label inside the frame
    out.push(`<text class="fault-label" transform="translate(${f1(x(m.time) + side)} ${TOP + 4}) rotate(90)" fill="${COLOURS.fault}">${escapeXml(m.what)}</text>`);
  }

  // Axes, grid and ticks: x every 1-2-5 seconds, y every decade.
  for (let i = 0; i * xStep <= xMaxS + 1e-9; i++) {
    const s = i * xStep;
    const tx = f1(x(s * 1000));
    out.push(`<line x1="${tx}" y1="${TOP}" x2="${tx}" y2="${TOP + PLOT_H + 4}" stroke="#dddddd"/>`);
    out.push(`<text x="${tx}" y="${TOP + PLOT_H + 16}" text-anchor="middle">${Number(s.toFixed(3))}</text>`);
  }
  for (let d = 0; d <= yMaxDecade; d++) {
    const ty = f1(y(10 ** d));
    out.push(`<line x1="${LEFT - 4}" y1="${ty}" x2="${LEFT + PLOT_W}" y2="${ty}" stroke="#dddddd"/>`);
    out.push(`<text x="${LEFT - 7}" y="${ty}" text-anchor="end" dominant-baseline="middle">${msLabel(10 ** d)}</text>`);
  }
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${LEFT + PLOT_W / 2}" y="${HEIGHT - 12}" text-anchor="middle">seconds since start (operation invoked)</text>`);
  out.push(`<text transform="translate(16 ${TOP + PLOT_H / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);

  for (const s of samples) {
    out.push(`<circle class="op ${s.outcome}" cx="${f1(x(s.at))}" cy="${f1(y(s.latency))}" r="1.6" fill="${COLOURS[s.outcome]}" fill-opacity="0.6"/>`);
  }
  const p99 = p99PerSecond(samples);
  if (p99.length > 0) {
    // Each second's value is drawn at the middle of that second.
    const points = p99.map((p) => `${f1(x(p.second * 1000 + 500))},${f1(y(p.p99))}`).join(' ');
    out.push(`<polyline class="p99" points="${points}" fill="none" stroke="${COLOURS.p99}" stroke-width="1.5"/>`);
  }

  // Legend, above the plot on the right.
  const counts = { ok: 0, fail: 0, info: 0 };
  for (const s of samples) counts[s.outcome]++;
  const entries: [string, string][] = [
    [`<circle cx="5" cy="0" r="3.5" fill="${COLOURS.ok}"/>`, `ok (${counts.ok})`],
    [`<circle cx="5" cy="0" r="3.5" fill="${COLOURS.fail}"/>`, `fail (${counts.fail})`],
    [`<circle cx="5" cy="0" r="3.5" fill="${COLOURS.info}"/>`, `info: unknown (${counts.info})`],
    [`<line x1="0" y1="0" x2="12" y2="0" stroke="${COLOURS.p99}" stroke-width="1.5"/>`, 'p99 per second'],
    [`<rect x="0" y="-5" width="12" height="10" fill="${COLOURS.fault}" fill-opacity="0.25"/>`, `fault window (${windows.length})`],
  ];
  out.push(`<g class="legend" transform="translate(${LEFT} 40)">`);
  let lx = 0;
  for (const [mark, label] of entries) {
    out.push(`<g transform="translate(${lx} 0)">${mark}<text x="16" y="0" dominant-baseline="middle">${escapeXml(label)}</text></g>`);
    lx += 30 + label.length * 6.2;
  }
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
