/**
 * What the load test counts while it runs, and the plain summary it turns into at the end (k6's
 * built-in metrics, by the same names where there is one):
 *
 *   checks             each named check's passes and failures ("/get value read back equals value written")
 *   http_reqs          requests sent, by route ("GET /get", "PUT /kv" ...)
 *   http_req_failed    requests answered with a status the scenario did not expect, or not answered;
 *                      by reason ("PUT /kv 503 CLUSTER_UNAVAILABLE", "GET /get ECONNRESET")
 *   http_req_duration  latency of every request that got an answer (µs, bench/lib/histogram.ts), overall
 *                      and by route; a request without an answer has no latency
 *   iterations         scenario iterations completed (and those cut short by the end of the run)
 *   vus                virtual users running, once a second, beside the schedule's target
 */
import { Histogram } from './histogram.js';
import type { Stage } from './loadtest-stages.js';

export interface CheckCount {
  name: string;
  passes: number;
  fails: number;
}

export interface LatencyMs {
  avg: number;
  min: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RouteSummary {
  route: string;
  requests: number;
  failed: number;
  latencyMs: LatencyMs;
}

export interface TimelinePoint {
  /** Seconds since the start. */
  t: number;
  /** Virtual users running (including those finishing their iteration after a ramp-down). */
  vus: number;
  /** What the schedule asked for. */
  target: number;
  /** Requests answered or failed in the second before t. */
  requests: number;
  failed: number;
}

export interface LoadtestSummary {
  urls: string[];
  stages: Stage[];
  /** Wall time from the first user's start to the last user's end. */
  durationMs: number;
  vusMax: number;
  iterations: number;
  interruptedIterations: number;
  requests: number;
  failedRequests: number;
  /** Why requests failed, reason → count, most frequent first. */
  failures: Record<string, number>;
  checks: CheckCount[];
  latencyMs: LatencyMs;
  routes: RouteSummary[];
  timeline: TimelinePoint[];
}

class RouteTally {
  readonly latency = new Histogram();
  requests = 0;
  failed = 0;
}

export class LoadtestTally {
  private readonly checks = new Map<string, CheckCount>();
  private readonly routes = new Map<string, RouteTally>();
  private readonly latency = new Histogram();
  private readonly failures = new Map<string, number>();
  readonly timeline: TimelinePoint[] = [];
  requests = 0;
  failedRequests = 0;
  failedChecks = 0;
  iterations = 0;
  interruptedIterations = 0;
  vusMax = 0;

  /** Records a named check; returns `ok` so a scenario can stop an iteration on a failed check. */
  check(name: string, ok: boolean): boolean {
    let c = this.checks.get(name);
    if (c === undefined) this.checks.set(name, (c = { name, passes: 0, fails: 0 }));
    if (ok) c.passes++;
    else {
      c.fails++;
      this.failedChecks++;
    }
    return ok;
  }

  /** A request that got an answer; `failure` names why it counts as failed (an unexpected status). */
  answered(route: string, latencyUs: number, failure?: string): void {
    const r = this.route(route);
    r.requests++;
    r.latency.record(latencyUs);
    this.latency.record(latencyUs);
    this.requests++;
    if (failure !== undefined) this.fail(r, failure);
  }

  /** A request that got no answer (`reason`: the transport error's code). */
  unanswered(route: string, reason: string): void {
    const r = this.route(route);
    r.requests++;
    this.requests++;
    this.fail(r, `${route} ${reason}`);
  }

  private fail(r: RouteTally, reason: string): void {
    r.failed++;
    this.failedRequests++;
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  private route(name: string): RouteTally {
    let r = this.routes.get(name);
    if (r === undefined) this.routes.set(name, (r = new RouteTally()));
    return r;
  }

  summary(urls: string[], stages: Stage[], durationMs: number): LoadtestSummary {
    return {
      urls,
      stages,
      durationMs,
      vusMax: this.vusMax,
      iterations: this.iterations,
      interruptedIterations: this.interruptedIterations,
      requests: this.requests,
      failedRequests: this.failedRequests,
      failures: Object.fromEntries([...this.failures].sort((a, b) => b[1] - a[1])),
      checks: [...this.checks.values()].map((c) => ({ ...c })),
      latencyMs: latencyOf(this.latency),
      routes: [...this.routes].map(([route, r]) => ({ route, requests: r.requests, failed: r.failed, latencyMs: latencyOf(r.latency) })),
      timeline: [...this.timeline],
    };
  }
}

/** The histogram's µs as ms; NaN throughout when it is empty. */
export function latencyOf(h: Histogram): LatencyMs {
  const s = h.summary();
  const ms = (us: number) => us / 1000;
  return { avg: ms(s.mean), min: ms(s.min), med: ms(s.p50), p90: ms(s.p90), p95: ms(h.percentile(95)), p99: ms(s.p99), max: ms(s.max) };
}
