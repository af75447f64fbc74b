/**
 * The suite report's charts, built from what each bench saved: throughput per workload beside the peer
 * measured in the same run (LSM: classic-level; RPC: a bare `net` ping-pong; cluster: our other setting
 * and, with --peers, etcd and Redis), latency percentiles, and for the cluster its throughput second by
 * second with every phase change marked (the cluster bench has no fault phase: its events are the
 * phases starting). Pure: saved results in, SVG text out.
 */
import { barChartSvg } from './bar-chart.js';
import type { VariantResult } from './lsm-workloads.js';
import { AWAITED, WORKLOADS as LSM_WORKLOADS } from './lsm-workloads.js';
import { percentileChartSvg, type PercentileSeries } from './percentile-chart.js';
import type { BenchRun } from './suite-results.js';
import { clusterPhaseName, clusterPhases, lsmVariants, rpcMedians, rpcScenario } from './suite-views.js';
import { timeSeriesSvg, type TimePoint } from './time-series-chart.js';
import type { PhaseResult } from './ycsb.js';

export interface Chart {
  /** File name within the run's chart directory, e.g. "cluster-throughput.svg". */
  file: string;
  title: string;
  svg: string;
}

/** Each engine pair the LSM bench measures: ours, then the peer through the same kind of API. */
const LSM_PAIRS = [
  ['ours', 'classic', 'each engine\'s fastest API'],
  ['ours-level', 'classic-level', 'through abstract-level'],
] as const;

export function lsmCharts(saved: unknown): Chart[] {
  const variants = lsmVariants(saved);
  const find = (v: string): VariantResult | undefined => variants.find((x) => x.variant === v);
  const charts: Chart[] = [];
  for (const [ours, peer, api] of LSM_PAIRS) {
    const present = [find(ours), find(peer)].filter((v): v is VariantResult => v !== undefined);
    if (present.length === 0) continue;
    const groups = LSM_WORKLOADS.filter((w) => present.some((v) => v.rows.some((r) => r.workload === w)));
    const title = `LSM: ops/s per workload, ${present.map((v) => v.variant).join(' vs ')} (${api}, same run)`;
    charts.push({
      file: `lsm-throughput-${ours}.svg`,
      title,
      svg: barChartSvg({
        title,
        yLabel: 'ops/s (log scale)',
        scale: 'log',
        groups,
        series: present.map((v) => ({ name: v.variant, values: groups.map((w) => v.rows.find((r) => r.workload === w)?.opsPerSec) })),
      }),
    });
  }
  // Latency: the rows that await one operation at a time, for the first pair present.
  const pair = LSM_PAIRS.map(([a, b]) => [find(a), find(b)].filter((v): v is VariantResult => v !== undefined)).find((p) => p.length > 0) ?? [];
  const awaited = LSM_WORKLOADS.filter((w) => AWAITED.has(w));
  const series: PercentileSeries[] = [];
  pair.forEach((v, vi) => {
    for (const r of v.rows) {
      if (r.p50us === undefined || r.p99us === undefined) continue;
      series.push({ name: `${v.variant} ${r.workload}`, points: [{ p: 50, value: r.p50us }, { p: 99, value: r.p99us }], dashed: vi > 0, colourIndex: awaited.indexOf(r.workload as (typeof awaited)[number]) });
    }
  });
  if (series.length > 0) {
    const title = `LSM: latency per operation, rows awaited one at a time (${pair.map((v) => v.variant).join(' solid, ')} dashed)`;
    charts.push({ file: 'lsm-latency.svg', title, svg: percentileChartSvg({ title, yLabel: 'µs per operation (log scale)', series }) });
  }
  return charts;
}

export function rpcCharts(saved: unknown): Chart[] {
  const medians = rpcMedians(saved);
  const scenarios = [...new Set(medians.map(rpcScenario))];
  const systems = ['mydatastore-rpc', 'bare-net'].filter((s) => medians.some((m) => m.system === s));
  const at = (system: string, scenario: string) => medians.find((m) => m.system === system && rpcScenario(m) === scenario);
  const t1 = 'RPC: echo requests/s per scenario, our RPC layer vs a bare net ping-pong (same run, median round)';
  const t2 = 'RPC: latency per request (our RPC solid, bare net dashed)';
  return [
    {
      file: 'rpc-throughput.svg',
      title: t1,
      svg: barChartSvg({ title: t1, yLabel: 'requests/s (log scale)', scale: 'log', groups: scenarios, series: systems.map((s) => ({ name: s, values: scenarios.map((sc) => at(s, sc)?.rps) })) }),
    },
    {
      file: 'rpc-latency.svg',
      title: t2,
      svg: percentileChartSvg({
        title: t2,
        yLabel: 'µs per request (log scale)',
        series: medians.map((m) => ({
          name: `${m.system} ${rpcScenario(m)}`,
          points: [{ p: 50, value: m.p50us }, { p: 99, value: m.p99us }],
          dashed: m.system !== 'mydatastore-rpc',
          colourIndex: scenarios.indexOf(rpcScenario(m)),
        })),
      }),
    },
  ];
}

/** "mydatastore R=W=2 (QUORUM)": a system at one setting, the cluster charts' series. */
const systemSetting = (p: PhaseResult): string => `${p.system} ${p.setting}`;

export function clusterCharts(saved: unknown): Chart[] {
  const phases = clusterPhases(saved);
  if (phases.length === 0) return [];
  const workloads = [...new Set(phases.map((p) => p.workload))];
  const settings = [...new Set(phases.map(systemSetting))];
  const charts: Chart[] = [];
  const t1 = `Cluster: ops/s per workload${new Set(phases.map((p) => p.system)).size > 1 ? ', beside the peers measured in the same run' : ', each setting'}`;
  charts.push({
    file: 'cluster-throughput.svg',
    title: t1,
    svg: barChartSvg({
      title: t1,
      yLabel: 'ops/s',
      scale: 'linear',
      groups: workloads,
      series: settings.map((s) => ({ name: s, values: workloads.map((w) => phases.find((p) => systemSetting(p) === s && p.workload === w)?.opsPerSec) })),
    }),
  });
  for (const w of workloads) {
    const title = `Cluster: latency percentiles, workload ${w}`;
    const series = phases
      .filter((p) => p.workload === w)
      .map((p) => ({
        name: systemSetting(p),
        points: [{ p: 50, value: p.latencyMs.p50 }, { p: 90, value: p.latencyMs.p90 }, { p: 99, value: p.latencyMs.p99 }, { p: 99.9, value: p.latencyMs.p999 }],
        colourIndex: settings.indexOf(systemSetting(p)),
      }));
    charts.push({ file: `cluster-latency-${w}.svg`, title, svg: percentileChartSvg({ title, yLabel: 'ms (log scale)', series }) });
  }
  const overTime = clusterOverTime(phases);
  if (overTime !== undefined) charts.push(overTime);
  return charts;
}

/**
 * Throughput per second over the whole run, one series per system, a segment per phase, an event at
 * each phase's start. A second that the phase only partly covered is scaled to a rate; slivers under a
 * quarter second are left out (a handful of operations would read as a spike or a dip).
 */
function clusterOverTime(phases: readonly PhaseResult[]): Chart | undefined {
  const timed = phases.filter((p) => p.startedAtMs !== undefined && p.opsPerSecond !== undefined);
  if (timed.length === 0) return undefined;
  const t0 = Math.min(...timed.map((p) => p.startedAtMs!));
  const systems = [...new Set(timed.map((p) => p.system))];
  const several = systems.length > 1;
  const segmentOf = (p: PhaseResult): TimePoint[] => {
    const start = (p.startedAtMs! - t0) / 1000;
    return p.opsPerSecond!.flatMap((n, i) => {
      const width = Math.min(1, p.seconds - i);
      return width < 0.25 ? [] : [{ t: start + i + width / 2, v: n / width }];
    });
  };
  const title = 'Cluster: throughput per second over the run, phase changes marked';
  return {
    file: 'cluster-over-time.svg',
    title,
    svg: timeSeriesSvg({
      title,
      yLabel: 'successful ops/s',
      xLabel: 'seconds since the first phase started',
      series: systems.map((s) => ({ name: s, segments: timed.filter((p) => p.system === s).map(segmentOf) })),
      events: timed.map((p) => ({ t: (p.startedAtMs! - t0) / 1000, label: several ? `${p.system} ${clusterPhaseName(p)}` : clusterPhaseName(p) })),
    }),
  };
}

/** Every chart of a suite run, bench by bench (a bench that saved nothing has none). */
export function suiteCharts(benches: readonly BenchRun[]): { bench: BenchRun['name']; charts: Chart[] }[] {
  return benches.map((b) => ({
    bench: b.name,
    charts: b.saved === undefined ? [] : b.name === 'lsm' ? lsmCharts(b.saved) : b.name === 'rpc' ? rpcCharts(b.saved) : clusterCharts(b.saved),
  }));
}
