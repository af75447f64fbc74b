/**
 * The load test's pass/fail thresholds, in the manner of k6's `thresholds`. The run passes when every
 * one holds; the script then exits 0, else 1.
 *
 *   checks             rate >= 1 - maxErrorRate   (default: every check passed)
 *   http_req_failed    rate <= maxErrorRate       (default: no request failed)
 *   http_reqs          count > 0                  (a run that sent nothing proves nothing)
 *   http_req_duration  p(95) <= p95Ms, p(99) <= p99Ms
 *
 * Pure: evaluated on the summary (bench/lib/loadtest-metrics.ts). A figure the run could not measure
 * (no answered request: NaN latency) fails its threshold.
 */
import type { LoadtestSummary } from './loadtest-metrics.js';

export interface Thresholds {
  /** Largest fraction of failed checks, and of failed requests, that still passes (0..1). */
  maxErrorRate: number;
  p95Ms: number;
  p99Ms: number;
}

export interface ThresholdResult {
  /** k6's metric name. */
  metric: string;
  /** The condition, e.g. `p(95)<=300ms`. */
  condition: string;
  /** The figure measured, as the condition reads it (a rate, a count, or ms). */
  actual: number;
  pass: boolean;
}

export function evaluateThresholds(s: LoadtestSummary, t: Thresholds): ThresholdResult[] {
  const checks = s.checks.reduce((n, c) => ({ passes: n.passes + c.passes, all: n.all + c.passes + c.fails }), { passes: 0, all: 0 });
  const checkRate = checks.all === 0 ? NaN : checks.passes / checks.all;
  const failRate = s.requests === 0 ? NaN : s.failedRequests / s.requests;
  const minCheckRate = 1 - t.maxErrorRate;
  return [
    { metric: 'checks', condition: `rate>=${rate(minCheckRate)}`, actual: checkRate, pass: checkRate >= minCheckRate },
    { metric: 'http_req_failed', condition: `rate<=${rate(t.maxErrorRate)}`, actual: failRate, pass: failRate <= t.maxErrorRate },
    { metric: 'http_reqs', condition: 'count>0', actual: s.requests, pass: s.requests > 0 },
    { metric: 'http_req_duration', condition: `p(95)<=${t.p95Ms}ms`, actual: s.latencyMs.p95, pass: s.latencyMs.p95 <= t.p95Ms },
    { metric: 'http_req_duration', condition: `p(99)<=${t.p99Ms}ms`, actual: s.latencyMs.p99, pass: s.latencyMs.p99 <= t.p99Ms },
  ];
}

export const allPass = (results: readonly ThresholdResult[]): boolean => results.every((r) => r.pass);

/** A rate as k6 writes it in a threshold: `0`, `1`, `0.999`. */
function rate(x: number): string {
  return String(Number(x.toFixed(6)));
}
