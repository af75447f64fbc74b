/** Issue 10's LSM bench targets (bench/lib/lsm-targets.ts): pass/miss on made-up figures. */
import t from 'tap';
import { type BenchFigures, evaluate, passes, tally, TARGETS, type Verdict, verdictText } from '../../bench/lib/lsm-targets.js';

/** Figures where every target is met exactly at its threshold (equal passes). */
function atThresholds(): BenchFigures {
  const classic = { fillrandom: 10_000, fillbatch: 100_000, overwrite: 10_000, readrandom: 10_000, readrandom64: 40_000, readcompacted: 20_000, readseq: 500_000, mixed: 10_000 };
  return {
    ops: {
      classic,
      ours: { fillrandom: 30_000, fillbatch: 120_000, overwrite: 20_000, readrandom: 30_000, readrandom64: 80_000, readcompacted: 60_000, readseq: 500_000, mixed: 20_000, fillsync: 900, fillsync64: 18_000 },
      'classic-level': { fillrandom: 10_000, readrandom: 10_000 },
      'ours-level': { fillrandom: 20_000, readrandom: 20_000 },
    },
    diskSyncRate: { ours: 1000 },
    peakRssMiB: { ours: 80, classic: 90 },
    rssBudgetMiB: 80,
    dbBytes: { ours: 110, classic: 100 },
    eventLoopP99Ms: { ours: { fillrandom: 10, overwrite: 10 } },
  };
}

const byId = (vs: Verdict[], id: string): Verdict => {
  const v = vs.find((x) => x.id === id);
  if (v === undefined) throw new Error(`no verdict ${id}`);
  return v;
};

t.test('every issue 10 target is defined once, with its threshold', (t) => {
  const want: Record<string, number> = {
    fillrandom: 3, fillbatch: 1.2, fillsync: 0.9, fillsync64: 20, overwrite: 2, readrandom: 3, readrandom64: 2,
    readcompacted: 3, readseq: 1, mixed: 2, 'level-fillrandom': 2, 'level-readrandom': 2,
    'peak-rss-vs-classic': 1, 'peak-rss-vs-budget': 1, 'disk-size': 1.1, 'event-loop-fillrandom': 10, 'event-loop-overwrite': 10,
  };
  t.same(Object.fromEntries(TARGETS.map((x) => [x.id, x.threshold])), want);
  t.equal(new Set(TARGETS.map((x) => x.id)).size, TARGETS.length, 'ids are unique');
  t.end();
});

t.test('a figure exactly at its target passes', (t) => {
  const vs = evaluate(atThresholds());
  for (const v of vs) t.equal(v.pass, true, `${v.id} passes at ${String(v.measured)}`);
  t.same(tally(vs), { pass: TARGETS.length, miss: 0, notMeasured: 0 });
  t.end();
});

t.test('a figure just on the wrong side of its target is a MISS', (t) => {
  const f = atThresholds();
  f.ops.ours!.fillrandom = 29_999; // 2.9999x classic
  f.ops.ours!.fillsync = 899; // 0.899x the disk
  f.ops.ours!.fillsync64 = 899 * 20 - 1; // 19.999x the one writer above
  f.ops['ours-level']!.readrandom = 19_999; // 1.9999x through abstract-level
  f.ops.ours!.readseq = 499_999; // 0.999998x
  f.peakRssMiB.ours = 80.01; // over the budget, still under classic
  f.dbBytes.ours = 111; // 1.11x classic
  f.eventLoopP99Ms.ours = { fillrandom: 10.01, overwrite: 9 };
  const vs = evaluate(f);
  for (const id of ['fillrandom', 'fillsync', 'fillsync64', 'level-readrandom', 'readseq', 'peak-rss-vs-budget', 'disk-size', 'event-loop-fillrandom']) {
    t.equal(byId(vs, id).pass, false, `${id} is a miss`);
    t.equal(verdictText(byId(vs, id)), 'MISS');
  }
  for (const id of ['peak-rss-vs-classic', 'event-loop-overwrite', 'overwrite', 'level-fillrandom']) t.equal(byId(vs, id).pass, true, `${id} still passes`);
  t.equal(byId(vs, 'fillrandom').measured, 2.9999, 'the measured ratio is ours / classic');
  t.same(tally(vs), { pass: TARGETS.length - 8, miss: 8, notMeasured: 0 });
  t.end();
});

t.test('peak RSS above classic-level is a miss even within the budget', (t) => {
  const f = atThresholds();
  f.peakRssMiB = { ours: 70, classic: 69 };
  const vs = evaluate(f);
  t.equal(byId(vs, 'peak-rss-vs-classic').pass, false);
  t.equal(byId(vs, 'peak-rss-vs-budget').pass, true);
  t.end();
});

t.test('a target whose figures the run did not measure is n/a, never a pass', (t) => {
  const f = atThresholds();
  delete f.ops.classic; // --engines ours,ours-level: no classic figure of any kind
  delete f.peakRssMiB.classic;
  delete f.dbBytes.classic;
  delete f.diskSyncRate.ours; // --only without fillsync
  f.ops.ours!.fillsync = 0; // a zero reference gives no ratio
  f.eventLoopP99Ms = {};
  const vs = evaluate(f);
  for (const id of ['fillrandom', 'readseq', 'mixed', 'fillsync', 'fillsync64', 'peak-rss-vs-classic', 'disk-size', 'event-loop-overwrite']) {
    t.equal(byId(vs, id).pass, undefined, `${id} not measured`);
    t.equal(byId(vs, id).measured, undefined);
    t.equal(verdictText(byId(vs, id)), 'n/a');
  }
  t.equal(byId(vs, 'level-fillrandom').pass, true, 'the abstract-level rows stand on their own');
  t.end();
});

t.test('passes() compares in the target\'s direction and refuses NaN', (t) => {
  t.equal(passes('atLeast', 3, 3), true);
  t.equal(passes('atLeast', 3, 2.999999), false);
  t.equal(passes('atMost', 10, 10.000001), false);
  t.equal(passes('atMost', 10, 0), true);
  t.equal(passes('atLeast', 1, NaN), undefined);
  t.equal(passes('atMost', 1, Infinity), undefined);
  t.end();
});
