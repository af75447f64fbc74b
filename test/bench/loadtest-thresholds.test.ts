/** The load test's thresholds (bench/lib/loadtest-thresholds.ts) and its k6-style summary (bench/lib/loadtest-summary.ts). */
import t from 'tap';
import type { LoadtestSummary } from '../../bench/lib/loadtest-metrics.js';
import { formatSummary, ms } from '../../bench/lib/loadtest-summary.js';
import { allPass, evaluateThresholds } from '../../bench/lib/loadtest-thresholds.js';

const latency = (p95: number, p99: number) => ({ avg: 4, min: 0.5, med: 3, p90: 6, p95, p99, max: 80 });

function summary(over: Partial<LoadtestSummary> = {}): LoadtestSummary {
  return {
    urls: ['http://127.0.0.1:8001'],
    stages: [
      { durationMs: 10_000, target: 16 },
      { durationMs: 30_000, target: 16 },
      { durationMs: 10_000, target: 0 },
    ],
    durationMs: 50_000,
    vusMax: 16,
    iterations: 1000,
    interruptedIterations: 0,
    requests: 5000,
    failedRequests: 0,
    failures: {},
    checks: [
      { name: '/set status is 200', passes: 1000, fails: 0 },
      { name: '/get value read back equals value written', passes: 2000, fails: 0 },
    ],
    latencyMs: latency(9, 20),
    routes: [{ route: 'GET /get', requests: 2000, failed: 0, latencyMs: latency(8, 15) }],
    timeline: [],
    ...over,
  };
}

const limits = { maxErrorRate: 0, p95Ms: 100, p99Ms: 250 };

t.test('a clean, fast run passes every threshold', (t) => {
  const r = evaluateThresholds(summary(), limits);
  t.same(
    r.map((x) => [x.metric, x.condition, x.pass]),
    [
      ['checks', 'rate>=1', true],
      ['http_req_failed', 'rate<=0', true],
      ['http_reqs', 'count>0', true],
      ['http_req_duration', 'p(95)<=100ms', true],
      ['http_req_duration', 'p(99)<=250ms', true],
    ],
  );
  t.equal(allPass(r), true);
  t.end();
});

t.test('one failed check, one failed request, or a slow tail fails the run', (t) => {
  const failedCheck = summary({ checks: [{ name: '/get value read back equals value written', passes: 1999, fails: 1 }] });
  t.same(evaluateThresholds(failedCheck, limits).filter((x) => !x.pass).map((x) => x.metric), ['checks']);
  const failedRequest = summary({ failedRequests: 1, failures: { 'PUT /kv 503 CLUSTER_UNAVAILABLE': 1 } });
  t.same(evaluateThresholds(failedRequest, limits).filter((x) => !x.pass).map((x) => x.metric), ['http_req_failed']);
  const slow = evaluateThresholds(summary({ latencyMs: latency(100, 250.5) }), limits);
  t.same(slow.filter((x) => !x.pass).map((x) => x.condition), ['p(99)<=250ms'], 'a figure exactly at its bound passes');
  t.equal(allPass(slow), false);
  t.end();
});

t.test('a tolerated error rate; a run that sent nothing fails', (t) => {
  const some = summary({ failedRequests: 5, checks: [{ name: 'c', passes: 999, fails: 1 }] });
  t.equal(allPass(evaluateThresholds(some, { ...limits, maxErrorRate: 0.001 })), true, '0.1% of requests and of checks');
  t.equal(allPass(evaluateThresholds(some, { ...limits, maxErrorRate: 0.0009 })), false);
  const empty = summary({ requests: 0, checks: [], latencyMs: latency(NaN, NaN) });
  t.same(evaluateThresholds(empty, limits).map((x) => x.pass), [false, false, false, false, false]);
  t.end();
});

t.test('the summary reads like k6: checks, dotted metric lines with threshold marks, the verdict', (t) => {
  const s = summary({
    checks: [
      { name: '/set status is 200', passes: 1000, fails: 0 },
      { name: '/get value read back equals value written', passes: 1990, fails: 10 },
    ],
    failedRequests: 3,
    failures: { 'GET /get ECONNRESET': 3 },
    latencyMs: latency(120, 200),
  });
  const text = formatSummary(s, evaluateThresholds(s, limits));
  t.match(text, 'up to 16 virtual users, stages 10s:16, 30s:16, 10s:0 (50s), ran 50.0s');
  t.match(text, '     ✓ /set status is 200\n');
  t.match(text, '     ✗ /get value read back equals value written\n      ↳  100% — ✓ 1990 / ✗ 10\n', 'a failing check gets its counts (99.5% rounds to 100%, as k6 prints it)');
  t.match(text, /\n {3}✗ checks\.+: 99\.67% ✓ 2990 ✗ 10\n/);
  t.match(text, /\n {3}✗ http_req_duration\.+: avg=4ms min=500µs med=3ms max=80ms p\(90\)=6ms p\(95\)=120ms p\(99\)=200ms\n/);
  t.match(text, /\n {5} {2}\{ route:GET \/get \}\.+: avg=4ms/, 'a line per route, indented, unmarked');
  t.match(text, /\n {3}✗ http_req_failed\.+: 0\.06% 3 of 5000\n {9}GET \/get ECONNRESET: 3\n/);
  t.match(text, /\n {3}✓ http_reqs\.+: 5000 100\.0\/s\n/);
  t.match(text, /\n {5}iterations\.+: 1000 20\.0\/s\n/, 'no threshold: no mark');
  t.match(text, '   ✗ http_req_duration p(95)<=100ms (measured 120ms)');
  t.match(text, /FAIL: 3 of 5 thresholds crossed: checks rate>=1; http_req_failed rate<=0; http_req_duration p\(95\)<=100ms$/);
  const clean = formatSummary(summary(), evaluateThresholds(summary(), limits));
  t.match(clean, /PASS: all 5 thresholds held$/);
  t.notMatch(clean, /^ +✗ /m, 'no check, metric or threshold marked failed');
  t.end();
});

t.test('durations in k6 units', (t) => {
  t.same([ms(0.25), ms(3), ms(12.345), ms(1500), ms(NaN)], ['250µs', '3ms', '12.35ms', '1.5s', 'n/a']);
  t.end();
});
