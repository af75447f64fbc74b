/** The load test's schedule (bench/lib/loadtest-stages.ts) and command line (bench/lib/loadtest-options.ts). */
import t from 'tap';
import { DEFAULT_P95_MS, DEFAULT_P99_MS, parseLoadtestArgs, parseUrls } from '../../bench/lib/loadtest-options.js';
import { LoadtestOptionError, describeStages, parseDuration, parseStages, rampStages, targetAt, totalMs } from '../../bench/lib/loadtest-stages.js';

t.test('ramp up, hold, ramp down: the target number of users over time', (t) => {
  const stages = rampStages(10_000, 30_000, 10_000, 16);
  t.equal(totalMs(stages), 50_000);
  const at = (s: number) => targetAt(stages, s * 1000);
  t.same([0, 2.5, 5, 9.99].map(at), [0, 4, 8, 16], 'linear from 0 to 16 over the first 10 s');
  t.same([10, 25, 39.9].map(at), [16, 16, 16], 'steady');
  t.same([40, 45, 49.9].map(at), [16, 8, 0], 'down to 0 over the last 10 s');
  t.equal(at(50), 0, 'nobody after the end');
  t.equal(at(-1), 0, 'nobody before the start');
  t.end();
});

t.test('stages from --stages, each moving from the previous target', (t) => {
  const stages = parseStages('2s:4, 500ms:10,1m:10,1.5s:0');
  t.same(stages, [
    { durationMs: 2000, target: 4 },
    { durationMs: 500, target: 10 },
    { durationMs: 60_000, target: 10 },
    { durationMs: 1500, target: 0 },
  ]);
  t.equal(targetAt(stages, 1000), 2);
  t.equal(targetAt(stages, 2250), 7, 'halfway from 4 to 10');
  t.equal(describeStages(stages), '2s:4, 500ms:10, 1m:10, 1500ms:0');
  t.same(rampStages(0, 5000, 0, 3), [{ durationMs: 5000, target: 3 }], 'a zero-length ramp is left out');
  t.end();
});

t.test('bad schedules and durations are typed errors that name the problem', (t) => {
  t.equal(parseDuration('90'), 90_000, 'a bare number is seconds');
  t.throws(() => parseDuration('10 sec', '--steady'), { name: 'LoadtestOptionError', code: 'LOADTEST_BAD_OPTION', message: /--steady: "10 sec" is not a duration/ });
  t.throws(() => parseStages('10s'), LoadtestOptionError);
  t.throws(() => parseStages('10s:-1'), LoadtestOptionError);
  t.throws(() => parseStages('10s:0,5s:0'), { message: /no stage has any virtual users/ });
  t.throws(() => rampStages(0, 0, 0, 4), { message: /empty/ });
  t.end();
});

t.test('the command line: defaults for a one-minute run, and checked values', (t) => {
  const d = parseLoadtestArgs([]);
  t.same(d.stages, rampStages(10_000, 30_000, 10_000, 16));
  t.same(d.thresholds, { maxErrorRate: 0, p95Ms: DEFAULT_P95_MS, p99Ms: DEFAULT_P99_MS });
  t.equal(d.urls, undefined, 'no --url: the script starts a cluster');
  t.equal(d.nodes, 3);
  t.equal(d.consistency, 'QUORUM');
  t.equal(d.save, true);
  const o = parseLoadtestArgs(['--url', 'http://127.0.0.1:8001/, http://localhost:8002', '--vus', '4', '--steady', '2s', '--p95-ms', '50', '--consistency', 'default', '--no-save']);
  t.same(o.urls, ['http://127.0.0.1:8001', 'http://localhost:8002']);
  t.same(o.stages, rampStages(10_000, 2000, 10_000, 4));
  t.equal(o.thresholds.p95Ms, 50);
  t.equal(o.consistency, undefined, "DEFAULT: the cluster's own R and W");
  t.equal(o.save, false);
  for (const bad of [['--vus', '0'], ['--vus', 'many'], ['--p99-ms', ''], ['--stages', '1s:2', '--vus', '3'], ['--url', 'http://a:1', '--nodes', '1'], ['--consistency', 'MOST'], ['--bogus'], ['--max-error-rate', '2']]) {
    t.throws(() => parseLoadtestArgs(bad), LoadtestOptionError, bad.join(' '));
  }
  t.throws(() => parseUrls('https://127.0.0.1:8001'), { message: /only http:/ });
  t.throws(() => parseUrls('127.0.0.1:8001'), { message: /not a URL|only http:/ });
  t.throws(() => parseUrls(' , '), { message: /needs one or more/ });
  t.end();
});
