/**
 * Issue 13's targets for `npm run bench:cluster -- --peers`, as pure functions of the rows one run
 * measured (bench/cluster.ts gathers them; test/bench/cluster-targets.test.ts checks the verdicts on
 * made-up rows). A target whose rows the run lacks (no --peers, a peer not installed, a workload not
 * selected) is n/a, never a pass. Equal to the threshold passes.
 *
 * Our W=2 puts are the `load` row at R=W=2 (one put of every key, default settings: a replica
 * acknowledges once the write is in its write-ahead log file, fdatasynced within its sync interval);
 * they are compared with Redis SET + WAIT 1 and are the rate the gets and YCSB workloads are held to.
 * The "durable writes" figure compared with etcd is the second `load` row, DURABLE_QUORUM: the same
 * puts, each fdatasynced by every replica before it acknowledges.
 */
import { DURABLE_QUORUM, SETTINGS } from './kv-target.js';
import { ETCD_LINEARIZABLE } from './peers/etcd.js';
import { REDIS_WAIT } from './peers/redis.js';
import type { PhaseResult } from './ycsb.js';

export interface ClusterVerdict {
  id: string;
  /** What is compared, e.g. "W=2 puts vs Redis SET+WAIT 1". */
  what: string;
  /** How the threshold reads, e.g. "≥ 1× Redis". */
  target: string;
  /** The measured ratio or figure; undefined when the run lacks the rows. */
  measured: number | undefined;
  /** The figure as printed (e.g. "0.18x (2,944 vs 16,465)"). */
  detail: string;
  /** true = pass, false = MISS, undefined = n/a. */
  pass: boolean | undefined;
}

const QUORUM = SETTINGS[0]!.name;
/** W=2 puts of zipfian keys in a closed loop: the peak the open-loop row takes half of. */
export const PEAK_PUTS = 'puts';
/** The workload name of the open-loop row: W=2 puts scheduled at half of the `puts` row's ops/s. */
export const HALF_PEAK = 'half-peak';
const ONE = SETTINGS[1]!.name;

const row = (rs: readonly PhaseResult[], system: string, setting: string, workload: string): PhaseResult | undefined =>
  rs.find((r) => r.system === system && r.setting === setting && r.workload === workload);

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** a ≥ k × b (ops/s), as a verdict on the ratio a / b. */
function atLeastTimes(id: string, what: string, k: number, peerName: string, a: PhaseResult | undefined, b: PhaseResult | undefined): ClusterVerdict {
  const target = `≥ ${k}× ${peerName}`;
  if (a === undefined || b === undefined || b.opsPerSec <= 0) return { id, what, target, measured: undefined, detail: 'n/a', pass: undefined };
  const ratio = a.opsPerSec / b.opsPerSec;
  return { id, what, target, measured: ratio, detail: `${ratio.toFixed(2)}x (${fmt(a.opsPerSec)} vs ${fmt(b.opsPerSec)} ops/s)`, pass: ratio >= k };
}

function atMost(id: string, what: string, limit: number, unit: string, measured: number | undefined, detailOf: (m: number) => string): ClusterVerdict {
  const target = `≤ ${limit} ${unit}`;
  if (measured === undefined) return { id, what, target, measured, detail: 'n/a', pass: undefined };
  return { id, what, target, measured, detail: detailOf(measured), pass: measured <= limit };
}

/** Every target of issue 13, judged on the run's rows. */
export function clusterVerdicts(rs: readonly PhaseResult[]): ClusterVerdict[] {
  const ours = (setting: string, w: string) => row(rs, 'mydatastore', setting, w);
  const put = ours(QUORUM, 'load');
  const durablePut = ours(DURABLE_QUORUM.name, 'load');
  const redisPut = row(rs, 'redis', REDIS_WAIT, 'load');
  const etcdPut = row(rs, 'etcd', ETCD_LINEARIZABLE, 'load');
  const verdicts: ClusterVerdict[] = [
    atLeastTimes('w2-put-vs-redis', 'W=2 puts (default settings) vs Redis SET + WAIT 1', 1, 'Redis', put, redisPut),
    atMost('w2-put-p99', 'W=2 puts (default settings), p99 latency', 10, 'ms', put?.latencyMs.p99, (m) => `${m.toFixed(1)} ms`),
    atLeastTimes('durable-put-vs-etcd', 'durable W=2 puts vs etcd puts', 3, 'etcd', durablePut, etcdPut),
  ];
  const p99 = durablePut?.latencyMs.p99;
  const etcdP99 = etcdPut?.latencyMs.p99;
  const both = p99 !== undefined && etcdP99 !== undefined;
  verdicts.push(
    {
      id: 'durable-put-p99-vs-etcd',
      what: 'durable W=2 puts, p99 vs etcd puts',
      target: "< etcd's p99",
      measured: both ? p99 : undefined,
      detail: both ? `${p99.toFixed(1)} vs ${etcdP99.toFixed(1)} ms` : 'n/a',
      pass: both ? p99 < etcdP99 : undefined,
    },
    atLeastTimes('r2-get-vs-w2-put', 'R=2 gets (C) vs our W=2 puts', 1.5, 'our W=2 puts', ours(QUORUM, 'C'), put),
    atLeastTimes('r2-get-vs-etcd', 'R=2 gets (C) vs etcd linearizable gets (C)', 5, 'etcd', ours(QUORUM, 'C'), row(rs, 'etcd', ETCD_LINEARIZABLE, 'C')),
    atLeastTimes('r1-get-vs-redis', 'R=1 gets (C) vs Redis GET (C)', 0.5, 'Redis', ours(ONE, 'C'), row(rs, 'redis', REDIS_WAIT, 'C')),
  );
  for (const [setting, label] of [[QUORUM, 'R=W=2'], [ONE, 'R=W=1']] as const) {
    for (const w of ['A', 'B', 'C']) {
      verdicts.push(atLeastTimes(`ycsb-${w}-${label}`, `YCSB ${w} at ${label} vs our W=2 puts`, 1, 'our W=2 puts', ours(setting, w), put));
    }
  }
  verdicts.push(
    atMost('cpu-per-w2-put', 'server CPU per W=2 put (all nodes)', 100, 'µs', put?.serverCpuUsPerOp, (m) => `${fmt(m)} µs`),
  );
  const half = ours(QUORUM, HALF_PEAK);
  const halfVerdict = atMost('p99-at-half-peak', 'W=2 puts at half of the peak put rate, p99 latency', 5, 'ms', half?.latencyMs.p99, (m) => `${m.toFixed(1)} ms at ${fmt(half!.opsPerSec)} puts/s`);
  // Latency counts successful puts only: a put that failed (timed out) must not let the row pass.
  if (half !== undefined && (half.errors > 0 || half.ops === 0)) {
    verdicts.push({ ...halfVerdict, measured: half.ops === 0 ? undefined : halfVerdict.measured, detail: `${halfVerdict.detail}, ${half.errors} failed of ${half.ops + half.errors}`, pass: false });
  } else {
    verdicts.push(halfVerdict);
  }
  return verdicts;
}

/** "pass", "MISS" or "n/a", as the tables print it. */
export function verdictWord(v: ClusterVerdict): string {
  return v.pass === undefined ? 'n/a' : v.pass ? 'pass' : 'MISS';
}
