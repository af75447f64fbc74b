/**
 * Every figure of a suite run as a flat list, each named so that the same measurement in two runs has
 * the same name ("cluster · mydatastore · R=W=2 (QUORUM) A · ops/s"), with its unit and which way is
 * better. This is what the comparison with the previous run walks: throughput (higher is better),
 * latency percentiles, CPU per operation and peak memory (lower is better).
 */
import type { BenchRun } from './suite-results.js';
import { clusterPhaseName, clusterPhases, lsmVariants, rpcMedians, rpcScenario } from './suite-views.js';

export interface Figure {
  name: string;
  bench: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
}

const SEP = ' · ';

/** The figures of the benches that saved results (a failed bench contributes none). */
export function suiteFigures(benches: readonly BenchRun[]): Figure[] {
  const out: Figure[] = [];
  const add = (bench: string, parts: string[], value: number | undefined, unit: string, better: Figure['better']) => {
    if (value === undefined || !Number.isFinite(value)) return;
    out.push({ name: [bench, ...parts, unit].join(SEP), bench, value, unit, better });
  };
  for (const b of benches) {
    if (b.saved === undefined) continue;
    if (b.name === 'lsm') {
      for (const v of lsmVariants(b.saved)) {
        for (const r of v.rows) {
          add('lsm', [v.variant, r.workload], r.opsPerSec, 'ops/s', 'higher');
          add('lsm', [v.variant, r.workload], r.p50us, 'p50 µs', 'lower');
          add('lsm', [v.variant, r.workload], r.p99us, 'p99 µs', 'lower');
        }
        add('lsm', [v.variant], v.maxRssKiB / 1024, 'peak RSS MiB', 'lower');
      }
    } else if (b.name === 'rpc') {
      for (const m of rpcMedians(b.saved)) {
        add('rpc', [m.system, rpcScenario(m)], m.rps, 'req/s', 'higher');
        add('rpc', [m.system, rpcScenario(m)], m.p50us, 'p50 µs', 'lower');
        add('rpc', [m.system, rpcScenario(m)], m.p99us, 'p99 µs', 'lower');
      }
    } else {
      for (const p of clusterPhases(b.saved)) {
        const at = [p.system, clusterPhaseName(p)];
        add('cluster', at, p.opsPerSec, 'ops/s', 'higher');
        add('cluster', at, p.latencyMs.p50, 'p50 ms', 'lower');
        add('cluster', at, p.latencyMs.p99, 'p99 ms', 'lower');
        add('cluster', at, p.latencyMs.p999, 'p999 ms', 'lower');
        add('cluster', at, p.serverCpuUsPerOp, 'server CPU µs/op', 'lower');
      }
    }
  }
  return out;
}
