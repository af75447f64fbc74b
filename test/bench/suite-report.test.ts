/**
 * The suite's charts and report from what the benches saved (bench/lib/suite-charts.ts,
 * suite-report.ts): every chart is well-formed SVG, ours stands beside the peer of the same run, the
 * cluster's throughput over time is a rate per second with each phase change marked, and the report
 * links the charts and lists the flagged moves.
 */
import t from 'tap';
import { clusterCharts, lsmCharts, rpcCharts, suiteCharts } from '../../bench/lib/suite-charts.js';
import { compareFigures } from '../../bench/lib/suite-compare.js';
import { suiteFigures } from '../../bench/lib/suite-figures.js';
import { demoteHeadings, suiteMarkdown } from '../../bench/lib/suite-report.js';
import type { BenchRun, SuiteResult } from '../../bench/lib/suite-results.js';
import type { PhaseResult } from '../../bench/lib/ycsb.js';
import { checkSvg, pointsOf } from './svg-check.js';

const row = (variant: string, workload: string, opsPerSec: number, p?: [number, number]) => ({
  workload,
  variant,
  ops: 1,
  seconds: 1,
  opsPerSec,
  mbPerSec: 1,
  ...(p === undefined ? {} : { p50us: p[0], p99us: p[1] }),
});
const lsmSaved = {
  results: {
    variants: [
      { variant: 'ours', maxRssKiB: 1024, stats: {}, rows: [row('ours', 'fillrandom', 80_000, [7, 20]), row('ours', 'fillbatch', 260_000)] },
      { variant: 'classic', maxRssKiB: 1024, stats: {}, rows: [row('classic', 'fillrandom', 40_000, [20, 40]), row('classic', 'fillbatch', 530_000)] },
    ],
  },
};
const rpcSaved = {
  results: {
    medians: [
      { system: 'bare-net', inFlight: 1, payloadBytes: 16, requests: 1, seconds: 1, rps: 22_000, p50us: 40, p99us: 70 },
      { system: 'mydatastore-rpc', inFlight: 1, payloadBytes: 16, requests: 1, seconds: 1, rps: 12_000, p50us: 70, p99us: 140 },
    ],
  },
};
function phase(system: string, setting: string, workload: string, startedAtMs: number, opsPerSecond: number[], seconds: number): PhaseResult {
  const latencyMs = { count: 1, min: 1, mean: 2, max: 30, p50: 2, p90: 4, p99: 9, p999: 20 };
  const ops = opsPerSecond.reduce((a, b) => a + b, 0);
  return { system, setting, workload, ops, seconds, opsPerSec: ops / seconds, latencyMs, errors: 0, errorsByCode: {}, errorExamples: {}, clientCpuUsPerOp: 40, startedAtMs, opsPerSecond };
}
const T0 = 1_800_000_000_000;
const clusterSaved = {
  results: {
    results: [
      phase('mydatastore', 'R=W=2 (QUORUM)', 'load', T0, [3000, 3000, 1500], 2.5),
      phase('mydatastore', 'R=W=2 (QUORUM)', 'A', T0 + 2500, [4000, 4000], 2),
      phase('etcd', 'put, linearizable get', 'A', T0 + 9000, [2500, 2500, 10], 2.01), // the sliver is left out
    ],
  },
};

t.test('every chart is well-formed SVG', (t) => {
  for (const c of [...lsmCharts(lsmSaved), ...rpcCharts(rpcSaved), ...clusterCharts(clusterSaved)]) {
    t.same(checkSvg(c.svg).problems, [], c.file);
    t.match(c.file, /^[A-Za-z0-9-]+\.svg$/, 'a plain file name');
  }
  t.end();
});

t.test('LSM: ours beside classic-level per workload, latency for the awaited rows', (t) => {
  const charts = lsmCharts(lsmSaved);
  t.same(charts.map((c) => c.file), ['lsm-throughput-ours.svg', 'lsm-latency.svg'], 'no abstract-level chart when those variants did not run');
  const bars = checkSvg(charts[0]!.svg).elements.filter((e) => e.attrs.class === 'bar');
  t.equal(bars.length, 4, 'two workloads, two engines');
  const lines = checkSvg(charts[1]!.svg).elements.filter((e) => e.tag === 'polyline');
  t.equal(lines.length, 2, 'fillrandom for each engine; fillbatch has no per-op latency');
  t.end();
});

t.test('cluster over time: a rate per second, one series per system, an event per phase', (t) => {
  const chart = clusterCharts(clusterSaved).find((c) => c.file === 'cluster-over-time.svg');
  t.ok(chart, 'drawn when phases recorded their seconds');
  const c = checkSvg(chart!.svg);
  const events = c.elements.filter((e) => e.tag === 'g' && e.attrs.class === 'event');
  t.equal(events.length, 3, 'each phase start is marked');
  t.ok(chart!.svg.includes('etcd put, linearizable get A'), 'with several systems the event names the system');
  const lines = c.elements.filter((e) => e.tag === 'polyline').map((e) => pointsOf(e.attrs.points!));
  t.equal(lines.length, 3, 'a segment per phase');
  const ys = (pts: number[]) => pts.filter((_, i) => i % 2 === 1);
  const load = ys(lines[0]!);
  t.equal(load.length, 3, "the load's half second at the end is kept");
  t.equal(load[2], load[0], 'and scaled to a rate: 1,500 ops in 0.5 s is the same 3,000/s');
  t.equal(ys(lines[2]!).length, 2, "etcd's 0.01 s sliver is left out");
  t.end();
});

t.test('cluster results without per-second counts (older files) still chart the rest', (t) => {
  const old = { results: { results: clusterSaved.results.results.map(({ startedAtMs: _s, opsPerSecond: _o, ...rest }) => rest) } };
  t.same(clusterCharts(old).map((c) => c.file), ['cluster-throughput.svg', 'cluster-latency-load.svg', 'cluster-latency-A.svg']);
  t.end();
});

t.test('the report links each chart and flags the moves', (t) => {
  const benches: BenchRun[] = [
    { name: 'lsm', args: ['--num', '20000'], exitCode: 0, seconds: 20, saved: lsmSaved },
    { name: 'rpc', args: [], exitCode: 0, seconds: 10, saved: rpcSaved },
    { name: 'cluster', args: ['--quick'], exitCode: 1, seconds: 5 },
  ];
  const run: SuiteResult = {
    kind: 'bench-suite',
    format: 1,
    date: '2026-11-27T10:00:00.000Z',
    commit: 'abc1234',
    quick: true,
    commandLine: 'npm run bench -- --quick',
    machine: { cpus: 2, cpu: 'cpu', memGiB: 4, node: 'v20', os: 'Linux' },
    loadAvg: { start: [1, 2, 3], end: [1, 2, 3] },
    seconds: 35,
    benches,
  };
  const slower = structuredClone(lsmSaved);
  slower.results.variants[0]!.rows[0]!.opsPerSec = 40_000;
  const before = { ...run, benches: [{ ...benches[0]!, saved: slower }] };
  const charts = suiteCharts(benches);
  const md = suiteMarkdown({
    run,
    markdown: { lsm: '# MyDataStore LSM bench\n\n## Table\n' },
    charts,
    chartDir: '2026-11-27T10-00-00-000Z-abc1234',
    previous: { file: '/x/2026-11-27T09-00-00-000Z-old.json', result: before, comparison: compareFigures(suiteFigures(before.benches), suiteFigures(benches)) },
  });
  for (const c of charts.flatMap((x) => x.charts)) t.ok(md.includes(`](2026-11-27T10-00-00-000Z-abc1234/${c.file})`), `links ${c.file}`);
  t.match(md, /lsm · ours · fillrandom · ops\/s \| 40k \| 80k \| \+100\.0% \| better/);
  t.match(md, /### MyDataStore LSM bench\n\n#### Table/, "the bench's own report, a level down");
  t.match(md, /cluster 5 s \(exit 1, no results\)/);
  t.match(md, /The bench failed \(exit 1\)/);
  t.match(md, /\| 1 in flight, 16 B \| 12,000 \| 70 \/ 140 \| 22,000 \| 40 \/ 70 \| 55% \|/, 'the RPC table');
  t.end();
});

t.test('demoteHeadings leaves other lines alone', (t) => {
  t.equal(demoteHeadings('# A\ntext # not a heading\n## B'), '### A\ntext # not a heading\n#### B');
  t.end();
});
