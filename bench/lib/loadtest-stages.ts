/**
 * The load test's schedule, in the manner of k6's `stages`: a list of (duration, target) steps, each
 * moving the number of virtual users linearly from the previous step's target (0 before the first) to
 * its own. `--ramp-up 10s --steady 30s --ramp-down 10s --vus 16` is the three stages
 * `10s:16,30s:16,10s:0`.
 *
 * Pure: the runner asks targetAt(stages, elapsed) a few times a second and starts or stops users.
 */

export interface Stage {
  durationMs: number;
  /** Virtual users at the end of the stage. */
  target: number;
}

/** Bad --stages, --ramp-up, --vus ... input. */
export class LoadtestOptionError extends Error {
  readonly code = 'LOADTEST_BAD_OPTION';
  override readonly name = 'LoadtestOptionError';
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `500ms`, `10s`, `1.5m`, or a bare number of seconds (`10`). */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new LoadtestOptionError(`${what}: ${JSON.stringify(text)} is not a duration (e.g. 500ms, 10s, 2m)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** `10s:16,30s:16,10s:0` (duration:target, comma separated). */
export function parseStages(text: string): Stage[] {
  const stages = text.split(',').map((part) => {
    const m = /^([^:]+):(\d+)$/.exec(part.trim());
    if (m === null) throw new LoadtestOptionError(`--stages: ${JSON.stringify(part)} is not DURATION:USERS (e.g. 10s:16)`);
    return { durationMs: parseDuration(m[1]!, '--stages'), target: Number(m[2]) };
  });
  checkStages(stages);
  return stages;
}

/** The classic shape: ramp up to `vus`, hold, ramp down to 0. A zero-length stage is left out. */
export function rampStages(rampUpMs: number, steadyMs: number, rampDownMs: number, vus: number): Stage[] {
  const stages = [
    { durationMs: rampUpMs, target: vus },
    { durationMs: steadyMs, target: vus },
    { durationMs: rampDownMs, target: 0 },
  ].filter((s) => s.durationMs > 0);
  checkStages(stages);
  return stages;
}

/** The most virtual users a stage may ask for (as --vus). */
export const MAX_USERS = 10_000;

function checkStages(stages: readonly Stage[]): void {
  if (stages.length === 0) throw new LoadtestOptionError('the schedule is empty: give at least one stage longer than 0 s');
  for (const s of stages) {
    if (!Number.isInteger(s.target) || s.target < 0 || s.target > MAX_USERS) throw new LoadtestOptionError(`a stage's users must be a whole number from 0 to ${MAX_USERS}, got ${s.target}`);
    if (!Number.isFinite(s.durationMs) || s.durationMs < 0) throw new LoadtestOptionError(`a stage's duration must be >= 0 ms, got ${s.durationMs}`);
  }
  if (totalMs(stages) <= 0) throw new LoadtestOptionError('the schedule lasts 0 s');
  if (maxTarget(stages) === 0) throw new LoadtestOptionError('no stage has any virtual users');
}

export function totalMs(stages: readonly Stage[]): number {
  return stages.reduce((sum, s) => sum + s.durationMs, 0);
}

export function maxTarget(stages: readonly Stage[]): number {
  return stages.reduce((max, s) => Math.max(max, s.target), 0);
}

/**
 * Virtual users wanted `elapsedMs` into the run: linear within a stage, rounded to the nearest whole
 * user; 0 before the start and after the end.
 */
export function targetAt(stages: readonly Stage[], elapsedMs: number): number {
  if (elapsedMs < 0) return 0;
  let from = 0;
  let start = 0;
  for (const s of stages) {
    if (elapsedMs < start + s.durationMs) return Math.round(from + ((s.target - from) * (elapsedMs - start)) / s.durationMs);
    from = s.target;
    start += s.durationMs;
  }
  return 0;
}

/** `10s:16, 30s:16, 10s:0` for the summary. */
export function describeStages(stages: readonly Stage[]): string {
  return stages.map((s) => `${formatDuration(s.durationMs)}:${s.target}`).join(', ');
}

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
