/**
 * How long each fuzz target runs and from which seed: every target asks `fuzzRuns()` for its number of
 * cases and checks its property with `checkProperty()`, which fixes the seed so a CI failure replays.
 *
 *   MYDATASTORE_FUZZ_RUNS=N    cases per target (default CI_RUNS, sized so that all of test/fuzz/ takes
 *                              well under a minute on a busy 2-core box; `npm run fuzz` uses 20x)
 *   MYDATASTORE_FUZZ_SEED=S    fast-check seed (default DEFAULT_SEED: CI runs are reproducible)
 *   MYDATASTORE_FUZZ_PATH=P    replay only the case at this fast-check path (printed with a failure)
 *
 * A target whose cases are much cheaper or dearer than the others scales the count with `weight` (the
 * frame decoder's cases are microseconds, a database open is milliseconds); the README lists them.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lsm/errors.js';

/** Cases per target when MYDATASTORE_FUZZ_RUNS is not set (measured: README.md "Cost"). */
export const CI_RUNS = 300;
/** The seed when MYDATASTORE_FUZZ_SEED is not set. */
export const DEFAULT_SEED = 0x5eed1;

function envInteger(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

/** The cases this target runs: MYDATASTORE_FUZZ_RUNS (or CI_RUNS) times weight, at least 1. */
export function fuzzRuns(weight = 1): number {
  const base = envInteger('MYDATASTORE_FUZZ_RUNS', 1) ?? CI_RUNS;
  return Math.max(1, Math.round(base * weight));
}

/** The seed of this run: MYDATASTORE_FUZZ_SEED or DEFAULT_SEED (fast-check takes any 32-bit integer). */
export function fuzzSeed(): number {
  return envInteger('MYDATASTORE_FUZZ_SEED', -(2 ** 31)) ?? DEFAULT_SEED;
}

/** The fast-check parameters of a target: its runs, the seed, and a replay path when one is given. */
export function fuzzParameters<Ts>(runs: number): fc.Parameters<Ts> {
  const path = process.env.MYDATASTORE_FUZZ_PATH;
  const params: fc.Parameters<Ts> = { numRuns: runs, seed: fuzzSeed() };
  if (path !== undefined && path !== '') params.path = path;
  return params;
}

/** Thrown when a property fails: fast-check's report, headed by the line that replays it. */
export class FuzzFailure extends Error {
  constructor(
    readonly target: string,
    readonly seed: number,
    readonly path: string | undefined,
    report: string,
    options?: ErrorOptions,
  ) {
    const replay = `MYDATASTORE_FUZZ_SEED=${seed}` + (path === undefined ? '' : ` MYDATASTORE_FUZZ_PATH=${path}`);
    super(`fuzz target "${target}" failed; replay with ${replay}\n${report}`, options);
    this.name = 'FuzzFailure';
  }
}

/**
 * Checks `property` for this target's runs from the run's seed; throws FuzzFailure (seed, path, the
 * shrunk counterexample and the error) when it fails. Works for sync and async properties alike.
 */
export async function checkProperty<Ts>(target: string, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, runs: number): Promise<void> {
  const params = fuzzParameters<Ts>(runs);
  const details = await fc.check(property, params);
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'no report';
  throw new FuzzFailure(target, details.seed, details.counterexamplePath ?? undefined, report, { cause: details.errorInstance });
}
