/**
 * Issue 10's targets for `npm run bench:lsm` and their pass/miss evaluation, as pure functions of the
 * figures a run measured (no I/O: bench/lsm.ts gathers the figures, test/bench/lsm-targets.test.ts checks
 * the verdicts on made-up ones).
 *
 * Every target compares one measured number against a threshold: a ratio (ours / classic-level in the
 * same run, or ours against a reference measured in the same run) or an absolute figure (MiB, ms).
 * Equal to the threshold passes; anything on the wrong side of it, however close, is a miss. A target
 * whose figures the run did not measure (`--only`, `--engines`) is `n/a`, never a pass.
 */
import type { Variant } from './lsm-engines.js';

/** What one run measured, per variant: the inputs of every target. */
export interface BenchFigures {
  /** ops/s per variant and workload. */
  ops: Partial<Record<Variant, Partial<Record<string, number>>>>;
  /** The disk's own fdatasync ops/s, measured interleaved with each variant's fillsync. */
  diskSyncRate: Partial<Record<Variant, number>>;
  /** Peak RSS of the process that ran each variant, MiB. */
  peakRssMiB: Partial<Record<Variant, number>>;
  /** Our engine's memory budget: writeBufferSize × 2 + blockCacheSize + 64 MiB, MiB. */
  rssBudgetMiB: number;
  /** Bytes of the database directory after fillrandom + overwrite and a full compaction. */
  dbBytes: Partial<Record<Variant, number>>;
  /** Event-loop delay p99 (ms) of the main thread during fillrandom and during overwrite. */
  eventLoopP99Ms: Partial<Record<Variant, { fillrandom?: number; overwrite?: number }>>;
}

export type Comparison = 'atLeast' | 'atMost';

export interface Target {
  /** Stable name, used in the JSON results. */
  id: string;
  /** The table row it belongs to: a workload name, or peak-rss / disk-size / event-loop. */
  row: string;
  /** 'fastest' (DB vs classic-level's fastest calls), 'level' (both through abstract-level), or 'run'. */
  api: 'fastest' | 'level' | 'run';
  comparison: Comparison;
  threshold: number;
  /** How the threshold reads in a table, e.g. "≥ 3× classic". */
  text: string;
  /** The measured figure compared with the threshold, or undefined when the run lacks its inputs. */
  measure(f: BenchFigures): number | undefined;
}

export interface Verdict {
  id: string;
  row: string;
  api: Target['api'];
  target: string;
  threshold: number;
  comparison: Comparison;
  measured: number | undefined;
  /** true = pass, false = MISS, undefined = not measured in this run (n/a). */
  pass: boolean | undefined;
}

const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/** a / b when both are measured and b is positive. */
export function ratioOf(a: number | undefined, b: number | undefined): number | undefined {
  return finite(a) && finite(b) && b > 0 ? a / b : undefined;
}

const opsOf = (f: BenchFigures, v: Variant, w: string): number | undefined => f.ops[v]?.[w];

/** ours / classic for a workload, through the fastest APIs or both through abstract-level. */
function vsClassic(row: string, threshold: number, api: 'fastest' | 'level' = 'fastest'): Target {
  const [a, b]: [Variant, Variant] = api === 'fastest' ? ['ours', 'classic'] : ['ours-level', 'classic-level'];
  return {
    id: api === 'fastest' ? row : `level-${row}`,
    row,
    api,
    comparison: 'atLeast',
    threshold,
    text: `≥ ${threshold}× classic`,
    measure: (f) => ratioOf(opsOf(f, a, row), opsOf(f, b, row)),
  };
}

export const EVENT_LOOP_P99_MAX_MS = 10;

export const TARGETS: readonly Target[] = [
  vsClassic('fillrandom', 3),
  vsClassic('fillbatch', 1.2),
  {
    id: 'fillsync',
    row: 'fillsync',
    api: 'run',
    comparison: 'atLeast',
    threshold: 0.9,
    text: '≥ 0.9× disk fdatasync',
    measure: (f) => ratioOf(opsOf(f, 'ours', 'fillsync'), f.diskSyncRate.ours),
  },
  {
    id: 'fillsync64',
    row: 'fillsync64',
    api: 'run',
    comparison: 'atLeast',
    threshold: 20,
    text: '≥ 20× ours fillsync',
    measure: (f) => ratioOf(opsOf(f, 'ours', 'fillsync64'), opsOf(f, 'ours', 'fillsync')),
  },
  vsClassic('overwrite', 2),
  vsClassic('readrandom', 3),
  vsClassic('readrandom64', 2),
  vsClassic('readcompacted', 3),
  vsClassic('readseq', 1),
  vsClassic('mixed', 2),
  vsClassic('fillrandom', 2, 'level'),
  vsClassic('readrandom', 2, 'level'),
  {
    id: 'peak-rss-vs-classic',
    row: 'peak-rss',
    api: 'run',
    comparison: 'atMost',
    threshold: 1,
    text: '≤ 1× classic',
    measure: (f) => ratioOf(f.peakRssMiB.ours, f.peakRssMiB.classic),
  },
  {
    id: 'peak-rss-vs-budget',
    row: 'peak-rss',
    api: 'run',
    comparison: 'atMost',
    threshold: 1,
    text: '≤ 1× budget (memtables + block cache + 64 MiB)',
    measure: (f) => ratioOf(f.peakRssMiB.ours, f.rssBudgetMiB),
  },
  {
    id: 'disk-size',
    row: 'disk-size',
    api: 'run',
    comparison: 'atMost',
    threshold: 1.1,
    text: '≤ 1.1× classic',
    measure: (f) => ratioOf(f.dbBytes.ours, f.dbBytes.classic),
  },
  ...(['fillrandom', 'overwrite'] as const).map(
    (w): Target => ({
      id: `event-loop-${w}`,
      row: 'event-loop',
      api: 'run',
      comparison: 'atMost',
      threshold: EVENT_LOOP_P99_MAX_MS,
      text: `p99 ≤ ${EVENT_LOOP_P99_MAX_MS} ms during ${w}`,
      measure: (f) => f.eventLoopP99Ms.ours?.[w],
    }),
  ),
];

/** Pass (true), miss (false) or not measured (undefined) for one figure against one threshold. */
export function passes(comparison: Comparison, threshold: number, measured: number | undefined): boolean | undefined {
  if (!finite(measured)) return undefined;
  return comparison === 'atLeast' ? measured >= threshold : measured <= threshold;
}

export function evaluate(f: BenchFigures, targets: readonly Target[] = TARGETS): Verdict[] {
  return targets.map((t) => {
    const measured = t.measure(f);
    return {
      id: t.id,
      row: t.row,
      api: t.api,
      target: t.text,
      threshold: t.threshold,
      comparison: t.comparison,
      measured: finite(measured) ? measured : undefined,
      pass: passes(t.comparison, t.threshold, measured),
    };
  });
}

/** "pass", "MISS" or "n/a", as the table shows a verdict. */
export function verdictText(v: Pick<Verdict, 'pass'>): string {
  return v.pass === undefined ? 'n/a' : v.pass ? 'pass' : 'MISS';
}

/** Counts for the closing line of the report. */
export function tally(verdicts: readonly Verdict[]): { pass: number; miss: number; notMeasured: number } {
  let pass = 0;
  let miss = 0;
  let notMeasured = 0;
  for (const v of verdicts) {
    if (v.pass === undefined) notMeasured++;
    else if (v.pass) pass++;
    else miss++;
  }
  return { pass, miss, notMeasured };
}
