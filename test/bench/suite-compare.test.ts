/**
 * The suite's comparison with the previous run (bench/lib/suite-compare.ts, suite-figures.ts): exactly
 * the figures that moved by more than 10% are flagged, each saying whether the move is better or worse,
 * and the same measurement in two runs is recognised by its name.
 */
import t from 'tap';
import { changeText, compareFigures, moveLines, movesMarkdown, relativeChange, summaryLine } from '../../bench/lib/suite-compare.js';
import { type Figure, suiteFigures } from '../../bench/lib/suite-figures.js';
import type { BenchRun } from '../../bench/lib/suite-results.js';

const fig = (name: string, value: number, better: Figure['better'] = 'higher'): Figure => ({ name, bench: 'x', value, unit: better === 'higher' ? 'ops/s' : 'ms', better });

t.test('flags exactly the moves above 10%, either way, and says which are better', (t) => {
  const before = [
    fig('up 10% exactly', 1000),
    fig('up just over 10%', 1000),
    fig('down 10% exactly', 1000),
    fig('down 11%', 1000),
    fig('latency up 50%', 10, 'lower'),
    fig('latency down 20%', 10, 'lower'),
    fig('still zero', 0),
    fig('from zero', 0),
    fig('steady', 5000),
    fig('gone', 1),
  ];
  const now = [
    fig('up 10% exactly', 1100),
    fig('up just over 10%', 1100.5),
    fig('down 10% exactly', 900),
    fig('down 11%', 890),
    fig('latency up 50%', 15, 'lower'),
    fig('latency down 20%', 8, 'lower'),
    fig('still zero', 0),
    fig('from zero', 3),
    fig('steady', 5100),
    fig('new', 1),
  ];
  const c = compareFigures(before, now);
  t.equal(c.compared, 9, 'every figure in both runs');
  const flagged = Object.fromEntries(c.moves.map((m) => [m.name, m.better]));
  t.same(flagged, { 'up just over 10%': true, 'down 11%': false, 'latency up 50%': false, 'latency down 20%': true, 'from zero': true });
  t.same(c.moves.map((m) => m.name).slice(0, 3), ['from zero', 'latency up 50%', 'latency down 20%'], 'largest move first');
  t.same(c.onlyBefore, ['gone']);
  t.same(c.onlyNow, ['new']);
  t.match(summaryLine(c), /^9 figures compared, 5 moved by more than 10% \(3 better, 2 worse\); not compared \(measured in one run only\): 1 new, 1 gone$/);
  t.equal(moveLines(c).filter((l) => l.startsWith('WORSE')).length, 2, 'worse moves stand out on the console');
  const md = movesMarkdown(c);
  t.equal(md.length, 2 + 5, 'a table row per flagged move');
  t.ok(md.some((l) => l.includes('latency up 50%') && l.includes('+50.0%') && l.includes('**worse**')));
  t.end();
});

t.test('nothing moved: no flags, one sentence', (t) => {
  const c = compareFigures([fig('a', 100)], [fig('a', 105)]);
  t.same(c.moves, []);
  t.same(movesMarkdown(c), ['No figure moved by more than 10%.']);
  t.end();
});

t.test('relative change and its text', (t) => {
  t.equal(relativeChange(200, 100), -0.5);
  t.equal(relativeChange(0, 0), 0);
  t.equal(relativeChange(0, 5), Infinity);
  t.equal(changeText(0.123), '+12.3%');
  t.equal(changeText(-0.4), '-40.0%');
  t.equal(changeText(Infinity), 'up from 0');
  t.end();
});

/** Saved results shaped as each bench writes them (only the fields the suite reads matter). */
function runs(scale: number): BenchRun[] {
  const latencyMs = { count: 1, min: 1, mean: 2, max: 9, p50: 2 * scale, p90: 3, p99: 5, p999: 8 };
  return [
    {
      name: 'lsm',
      args: [],
      exitCode: 0,
      seconds: 1,
      saved: { results: { variants: [{ variant: 'ours', maxRssKiB: 102_400, stats: {}, rows: [{ workload: 'fillrandom', variant: 'ours', ops: 1, seconds: 1, opsPerSec: 1000 * scale, mbPerSec: 1, p50us: 4, p99us: 20 }] }] } },
    },
    { name: 'rpc', args: [], exitCode: 0, seconds: 1, saved: { results: { medians: [{ system: 'mydatastore-rpc', inFlight: 64, payloadBytes: 16, requests: 1, seconds: 1, rps: 50_000, p50us: 900, p99us: 2000 }] } } },
    {
      name: 'cluster',
      args: [],
      exitCode: 0,
      seconds: 1,
      saved: { results: { results: [{ system: 'mydatastore', setting: 'R=W=2 (QUORUM)', workload: 'A', ops: 1, seconds: 1, opsPerSec: 3000, latencyMs, errors: 0, errorsByCode: {}, errorExamples: {}, clientCpuUsPerOp: 50, serverCpuUsPerOp: 600 }] } },
    },
    { name: 'cluster', args: [], exitCode: 1, seconds: 1 }, // failed before saving: no figures
  ];
}

t.test('figures of a suite run are named alike in two runs, so the moves are found', (t) => {
  const figures = suiteFigures(runs(1));
  const names = figures.map((f) => f.name);
  t.ok(names.includes('lsm · ours · fillrandom · ops/s'));
  t.ok(names.includes('lsm · ours · peak RSS MiB'));
  t.ok(names.includes('rpc · mydatastore-rpc · 64 in flight, 16 B · req/s'));
  t.ok(names.includes('cluster · mydatastore · R=W=2 (QUORUM) A · p50 ms'));
  t.ok(names.includes('cluster · mydatastore · R=W=2 (QUORUM) A · server CPU µs/op'));
  t.equal(new Set(names).size, names.length, 'no two figures share a name');
  const c = compareFigures(figures, suiteFigures(runs(2)));
  t.equal(c.compared, figures.length);
  t.same(
    c.moves.map((m) => [m.name, m.better]),
    [
      ['cluster · mydatastore · R=W=2 (QUORUM) A · p50 ms', false],
      ['lsm · ours · fillrandom · ops/s', true],
    ],
    'only the two figures that doubled are flagged',
  );
  t.end();
});

t.test('a saved file of the wrong shape is a BenchSuiteError naming the bench', (t) => {
  t.throws(() => suiteFigures([{ name: 'rpc', args: [], exitCode: 0, seconds: 1, saved: { results: {} } }]), { name: 'BenchSuiteError', message: /rpc: the saved results have no "medians" list/ });
  t.throws(() => suiteFigures([{ name: 'lsm', args: [], exitCode: 0, seconds: 1, saved: 'nonsense' }]), { name: 'BenchSuiteError', code: 'BENCH_SUITE_BAD_INPUT' });
  t.end();
});
