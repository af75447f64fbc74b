/**
 * The bench suite's result files: `bench/results/<date>-<commit>.json` (the date as in every result
 * name, 2026-11-27T10-06-00-591Z, so names sort by time; no bench name in front, which is how they are
 * told from the single benches' `lsm-…`, `cluster-…` files), the `.md` report beside it and a directory
 * of the same name holding the report's SVG charts. Also finding the run to compare with: the newest
 * earlier suite file that the caller accepts (same mode, a bench in common).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bad input to the suite: an unknown bench or flag, or a result file that is not a suite result. */
export class BenchSuiteError extends Error {
  readonly code = 'BENCH_SUITE_BAD_INPUT';
  override readonly name = 'BenchSuiteError';
}

export const BENCHES = ['lsm', 'rpc', 'cluster'] as const;
export type BenchName = (typeof BENCHES)[number];

/** One bench of a suite run: how it was run and the JSON it wrote (absent if it failed before). */
export interface BenchRun {
  name: BenchName;
  /** The bench's command line after `node dist/bench/<name>.js`. */
  args: string[];
  exitCode: number;
  seconds: number;
  /** The bench's own result file, as it wrote it (bench/lib/report.ts writeResults). */
  saved?: unknown;
}

export interface SuiteResult {
  kind: 'bench-suite';
  /** Bumped when the shape changes in a way older reports cannot read. */
  format: 1;
  date: string;
  commit: string;
  quick: boolean;
  commandLine: string;
  machine: { cpus: number; cpu: string | undefined; memGiB: number; node: string; os: string };
  loadAvg: { start: number[]; end: number[] };
  seconds: number;
  benches: BenchRun[];
}

const NAME = /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)-([A-Za-z0-9]+)\.json$/;

/** `<date>-<commit>.json` for a run started at `date`. */
export function suiteFileName(date: Date, commit: string): string {
  return `${date.toISOString().replace(/[:.]/g, '-')}-${commit}.json`;
}

/** The date stamp and commit of a suite result file name; undefined for any other file. */
export function parseSuiteFileName(name: string): { stamp: string; commit: string } | undefined {
  const m = NAME.exec(name);
  return m === null ? undefined : { stamp: m[1]!, commit: m[2]! };
}

/** Suite result names older than `current` (a suite file name), newest first. */
export function earlierSuiteFiles(names: readonly string[], current: string): string[] {
  const now = parseSuiteFileName(current);
  if (now === undefined) throw new BenchSuiteError(`${current} is not a suite result name (<date>-<commit>.json)`);
  return names
    .flatMap((n) => {
      const p = parseSuiteFileName(n);
      return p !== undefined && p.stamp < now.stamp ? [{ n, stamp: p.stamp }] : [];
    })
    .sort((a, b) => (a.stamp < b.stamp ? 1 : a.stamp > b.stamp ? -1 : 0))
    .map((e) => e.n);
}

/** Reads and checks a suite result file; a file of another shape is a BenchSuiteError. */
export function readSuiteResult(file: string): SuiteResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BenchSuiteError(`${file}: not readable JSON (${(err as Error).message})`);
  }
  const r = parsed as Partial<SuiteResult> | null;
  if (r === null || typeof r !== 'object' || r.kind !== 'bench-suite' || !Array.isArray(r.benches) || typeof r.quick !== 'boolean') {
    throw new BenchSuiteError(`${file}: not a bench suite result (kind "bench-suite" with a benches list)`);
  }
  if (r.format !== 1) throw new BenchSuiteError(`${file}: suite result format ${String(r.format)}, this suite reads format 1`);
  return r as SuiteResult;
}

/**
 * The newest suite result in `dir` older than `current` that `accept` takes; files that are not suite
 * results (or cannot be read) are passed over. Undefined when there is none.
 */
export function findPrevious(dir: string, current: string, accept: (r: SuiteResult) => boolean): { file: string; result: SuiteResult } | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of earlierSuiteFiles(names, current)) {
    const file = join(dir, name);
    let result: SuiteResult;
    try {
      result = readSuiteResult(file);
    } catch {
      continue;
    }
    if (accept(result)) return { file, result };
  }
  return undefined;
}
