/**
 * The soak bench's verdict, as pure functions of the samples (bench/soak.ts gathers them): is a node's
 * RSS, open-fd count or on-disk size flat once the data set is stable?
 *
 * The run is split into a warm-up (caches filling, the JIT, the LSM reaching its shape, a first
 * compaction) and the steady part after it. Of the steady part, samples taken while the node was down
 * or within a settling time after its restart are dropped (a restarted process starts small and grows
 * back, which is not a leak). On what is left, per node and metric:
 *  - growth: the median of the last quarter of the samples minus the median of the first quarter
 *    (medians, so one sample caught mid-GC or mid-compaction does not decide);
 *  - trend: the least-squares slope, per minute, and that slope over the samples' span.
 * A metric is flat when both the growth and the trend are within its bound. Shrinking is always flat.
 */

export type MetricName = 'rss' | 'fds' | 'disk';

export interface MetricBound {
  metric: MetricName;
  label: string;
  unit: 'bytes' | 'count';
  /** Growth above this percentage of the start value is not flat (none: no relative bound). */
  maxGrowthPct?: number;
  /** Growth above this absolute amount (bytes or count) is not flat (none: no absolute bound). */
  maxGrowthAbs?: number;
  /** Why this bound, printed with it. */
  why: string;
}

const MiB = 1024 * 1024;

export const BOUNDS: readonly MetricBound[] = [
  {
    metric: 'rss',
    label: 'RSS',
    unit: 'bytes',
    maxGrowthPct: 20,
    maxGrowthAbs: 64 * MiB,
    why: 'V8 grows its heap in steps and returns memory lazily, so RSS wanders by tens of MiB without a leak; a leak shows as growth beyond both bounds',
  },
  {
    metric: 'fds',
    label: 'open fds',
    unit: 'count',
    maxGrowthAbs: 10,
    why: 'sockets to peers and clients come and go with restarts, and the LSM holds a file per live table, which compaction changes by a few; a leak adds one per request or per table and passes 10 quickly',
  },
  {
    metric: 'disk',
    label: 'disk',
    unit: 'bytes',
    maxGrowthPct: 25,
    why: 'with a fixed key space live data stays the same, but the WAL grows until the memtable (4 MiB) flushes, level-0 tables pile up until compaction merges them, and hints for a killed node stay until replayed: a saw-tooth several MiB high on a data set of tens of MiB',
  },
];

export interface Point {
  /** Seconds since the start of the run. */
  t: number;
  v: number;
}

/** [from, to) in seconds since the start of the run. */
export type Window = readonly [number, number];

/**
 * The warm-up in seconds: 30% of the run, and at least a minute, but never more than a third of a short
 * run (so that a two-minute run still has a steady part of 80 s).
 */
export function warmupSeconds(runSeconds: number): number {
  return Math.max(0.3 * runSeconds, Math.min(60, runSeconds / 3));
}

/** Points from `from` on, minus those inside any excluded window. */
export function steadyPoints(points: readonly Point[], from: number, excluded: readonly Window[]): Point[] {
  return points.filter((p) => p.t >= from && !excluded.some(([a, b]) => p.t >= a && p.t < b));
}

export interface MetricVerdict {
  /** Steady samples judged. */
  samples: number;
  /** Median of the first and of the last quarter of the steady samples. */
  start: number;
  end: number;
  growth: number;
  /** Least-squares slope per minute, and that slope over the span of the samples. */
  slopePerMin: number;
  trend: number;
  /** true = flat, false = growing, undefined = too few samples to say. */
  flat: boolean | undefined;
  /** Why not flat, or why no verdict; empty when flat. */
  reason: string;
}

/** Fewer steady samples than this give no verdict. */
export const MIN_SAMPLES = 4;

export function judge(points: readonly Point[], bound: MetricBound): MetricVerdict {
  const n = points.length;
  if (n < MIN_SAMPLES) {
    return { samples: n, start: NaN, end: NaN, growth: NaN, slopePerMin: NaN, trend: NaN, flat: undefined, reason: `${n} steady samples, fewer than ${MIN_SAMPLES}` };
  }
  const q = Math.ceil(n / 4);
  const start = median(points.slice(0, q).map((p) => p.v));
  const end = median(points.slice(n - q).map((p) => p.v));
  const growth = end - start;
  const slopePerSec = slope(points);
  const trend = slopePerSec * (points[n - 1]!.t - points[0]!.t);
  const reasons: string[] = [];
  const growthProblem = beyond(growth, start, bound);
  if (growthProblem !== undefined) reasons.push(`growth ${growthProblem}`);
  const trendProblem = beyond(trend, start, bound);
  if (trendProblem !== undefined) reasons.push(`trend ${trendProblem}`);
  return { samples: n, start, end, growth, slopePerMin: slopePerSec * 60, trend, flat: reasons.length === 0, reason: reasons.join('; ') };
}

/** How `growth` exceeds the bound (e.g. "+31% > 25%"), or undefined within it. */
function beyond(growth: number, base: number, bound: MetricBound): string | undefined {
  if (growth <= 0) return undefined;
  if (bound.maxGrowthAbs !== undefined && growth > bound.maxGrowthAbs) return `${formatAmount(growth, bound.unit)} > ${formatAmount(bound.maxGrowthAbs, bound.unit)}`;
  if (bound.maxGrowthPct !== undefined) {
    const pct = base > 0 ? (growth / base) * 100 : Infinity;
    if (pct > bound.maxGrowthPct) return `+${pct.toFixed(1)}% > ${bound.maxGrowthPct}%`;
  }
  return undefined;
}

/** The bound as printed, e.g. "growth ≤ 20% and ≤ 64.0 MiB". */
export function describeBound(bound: MetricBound): string {
  const parts: string[] = [];
  if (bound.maxGrowthPct !== undefined) parts.push(`≤ ${bound.maxGrowthPct}%`);
  if (bound.maxGrowthAbs !== undefined) parts.push(`≤ ${formatAmount(bound.maxGrowthAbs, bound.unit)}`);
  return `growth ${parts.join(' and ')}`;
}

/** Bytes in MiB (one decimal), counts as integers; signed when `signed`. */
export function formatAmount(v: number, unit: MetricBound['unit'], signed = false): string {
  if (!Number.isFinite(v)) return '-';
  const sign = signed && v > 0 ? '+' : '';
  return unit === 'bytes' ? `${sign}${(v / MiB).toFixed(1)} MiB` : `${sign}${Math.round(v * 10) / 10}`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Least-squares slope of v over t (units per second); 0 when every t is the same. */
export function slope(points: readonly Point[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
