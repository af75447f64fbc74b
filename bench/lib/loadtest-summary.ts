/**
 * The load test's end-of-run summary, laid out the way k6 prints one: the checks (✓ all passed, ✗ with
 * how many passed and failed), then one dotted line per metric — those with a threshold marked ✓ or ✗ —
 * then the thresholds with the figures they compared, and a last PASS / FAIL line.
 *
 * Pure text from the summary and the evaluated thresholds (test/bench/loadtest-summary.test.ts).
 */
import type { LatencyMs, LoadtestSummary } from './loadtest-metrics.js';
import { describeStages, formatDuration, totalMs } from './loadtest-stages.js';
import type { ThresholdResult } from './loadtest-thresholds.js';

const PASS = '✓';
const FAIL = '✗';
const LABEL_WIDTH = 34;

export function formatSummary(s: LoadtestSummary, thresholds: readonly ThresholdResult[]): string {
  const lines: string[] = [];
  const seconds = s.durationMs / 1000;
  lines.push(`  target: ${s.urls.join(', ')}`);
  lines.push(`  scenario: up to ${s.vusMax} virtual users, stages ${describeStages(s.stages)} (${formatDuration(totalMs(s.stages))}), ran ${seconds.toFixed(1)}s`);
  lines.push('');
  for (const c of s.checks) {
    if (c.fails === 0) {
      lines.push(`     ${PASS} ${c.name}`);
    } else {
      lines.push(`     ${FAIL} ${c.name}`);
      lines.push(`      ↳  ${percent(c.passes / (c.passes + c.fails), 0)} — ${PASS} ${c.passes} / ${FAIL} ${c.fails}`);
    }
  }
  if (s.checks.length === 0) lines.push('     (no checks ran)');
  lines.push('');

  const mark = (metric: string): string => {
    const own = thresholds.filter((t) => t.metric === metric);
    if (own.length === 0) return ' ';
    return own.every((t) => t.pass) ? PASS : FAIL;
  };
  const metric = (name: string, value: string, indent = 0) => {
    const label = `${' '.repeat(indent)}${name}`;
    lines.push(`   ${indent === 0 ? mark(name) : ' '} ${label}${'.'.repeat(Math.max(2, LABEL_WIDTH - label.length))}: ${value}`);
  };
  const passed = s.checks.reduce((n, c) => n + c.passes, 0);
  const failed = s.checks.reduce((n, c) => n + c.fails, 0);
  metric('checks', `${percent(passed / (passed + failed), 2)} ${PASS} ${passed} ${FAIL} ${failed}`);
  metric('http_req_duration', latencyLine(s.latencyMs));
  for (const r of s.routes) metric(`{ route:${r.route} }`, latencyLine(r.latencyMs), 2);
  metric('http_req_failed', `${percent(s.failedRequests / s.requests, 2)} ${s.failedRequests} of ${s.requests}`);
  for (const [reason, n] of Object.entries(s.failures)) lines.push(`         ${reason}: ${n}`);
  metric('http_reqs', `${s.requests} ${perSecond(s.requests, seconds)}`);
  for (const r of s.routes) metric(`{ route:${r.route} }`, `${r.requests} ${perSecond(r.requests, seconds)}`, 2);
  const interrupted = s.interruptedIterations === 0 ? '' : ` (${s.interruptedIterations} interrupted)`;
  metric('iterations', `${s.iterations} ${perSecond(s.iterations, seconds)}${interrupted}`);
  metric('vus_max', String(s.vusMax));
  lines.push('');

  lines.push('  thresholds:');
  for (const t of thresholds) lines.push(`   ${t.pass ? PASS : FAIL} ${t.metric} ${t.condition} (measured ${figure(t)})`);
  const crossed = thresholds.filter((t) => !t.pass);
  lines.push('');
  lines.push(crossed.length === 0 ? `  PASS: all ${thresholds.length} thresholds held` : `  FAIL: ${crossed.length} of ${thresholds.length} thresholds crossed: ${crossed.map((t) => `${t.metric} ${t.condition}`).join('; ')}`);
  return lines.join('\n');
}

function latencyLine(l: LatencyMs): string {
  return `avg=${ms(l.avg)} min=${ms(l.min)} med=${ms(l.med)} max=${ms(l.max)} p(90)=${ms(l.p90)} p(95)=${ms(l.p95)} p(99)=${ms(l.p99)}`;
}

/** k6's units: µs below a millisecond, ms below a second, s above. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x < 1) return `${Math.round(x * 1000)}µs`;
  if (x < 1000) return `${Number(x.toFixed(2))}ms`;
  return `${Number((x / 1000).toFixed(2))}s`;
}

function percent(x: number, digits: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : 'n/a';
}

function perSecond(n: number, seconds: number): string {
  return seconds > 0 ? `${(n / seconds).toFixed(1)}/s` : 'n/a';
}

function figure(t: ThresholdResult): string {
  if (t.metric === 'http_req_duration') return ms(t.actual);
  if (t.metric === 'http_reqs') return String(t.actual);
  return Number.isFinite(t.actual) ? String(Number(t.actual.toFixed(6))) : 'n/a';
}
