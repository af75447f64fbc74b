/** Issue 13's verdicts (bench/lib/cluster-targets.ts) on made-up bench rows. */
import t from 'tap';
import { clusterVerdicts, HALF_PEAK, verdictWord } from '../../bench/lib/cluster-targets.js';
import { DURABLE_QUORUM } from '../../bench/lib/kv-target.js';
import { ETCD_LINEARIZABLE } from '../../bench/lib/peers/etcd.js';
import { REDIS_WAIT } from '../../bench/lib/peers/redis.js';
import type { PhaseResult } from '../../bench/lib/ycsb.js';

function row(system: string, setting: string, workload: string, opsPerSec: number, p99 = 5, serverCpuUsPerOp?: number): PhaseResult {
  const latencyMs = { count: 1, min: 1, mean: 1, max: p99, p50: 1, p90: 1, p99, p999: p99 };
  return { system, setting, workload, ops: opsPerSec, seconds: 1, opsPerSec, latencyMs, errors: 0, errorsByCode: {}, errorExamples: {}, clientCpuUsPerOp: 1, ...(serverCpuUsPerOp === undefined ? {} : { serverCpuUsPerOp }) };
}

const byId = (rows: PhaseResult[]) => new Map(clusterVerdicts(rows).map((v) => [v.id, v]));

// Our two load rows differ in every figure, so a verdict reading the wrong one shows it.
const defaultLoad = row('mydatastore', 'R=W=2 (QUORUM)', 'load', 3000, 12, 600);
const durableLoad = row('mydatastore', DURABLE_QUORUM.name, 'load', 1500, 40, 900);
const etcdLoad = row('etcd', ETCD_LINEARIZABLE, 'load', 500, 50);

t.test('each target compares the right rows; equal to the threshold passes', (t) => {
  const rows = [
    defaultLoad,
    durableLoad,
    row('mydatastore', 'R=W=2 (QUORUM)', 'C', 4500),
    row('mydatastore', 'R=W=1 (ONE)', 'C', 20_000),
    row('mydatastore', 'R=W=2 (QUORUM)', 'A', 2999),
    row('redis', REDIS_WAIT, 'load', 15_000),
    row('redis', REDIS_WAIT, 'C', 40_000),
    row('redis', 'SET (async), GET', 'load', 99_999), // not the setting the targets use
    etcdLoad,
    row('etcd', ETCD_LINEARIZABLE, 'C', 901),
  ];
  const v = byId(rows);
  t.equal(v.get('w2-put-vs-redis')?.measured, 0.2, 'the default load row: 3,000 / 15,000');
  t.equal(verdictWord(v.get('w2-put-vs-redis')!), 'MISS');
  t.match(v.get('w2-put-vs-redis')?.detail, /0\.20x \(3,000 vs 15,000 ops\/s\)/);
  t.equal(v.get('w2-put-p99')?.measured, 12, "the default load row's p99");
  t.equal(verdictWord(v.get('w2-put-p99')!), 'MISS', 'p99 12 ms > 10 ms');
  t.equal(v.get('durable-put-vs-etcd')?.measured, 3, 'the durable load row: 1,500 / 500');
  t.match(v.get('durable-put-vs-etcd')?.detail, /3\.00x \(1,500 vs 500 ops\/s\)/);
  t.equal(verdictWord(v.get('durable-put-vs-etcd')!), 'pass', '3× etcd exactly');
  t.equal(v.get('durable-put-p99-vs-etcd')?.measured, 40, "the durable load row's p99");
  t.equal(v.get('durable-put-p99-vs-etcd')?.detail, '40.0 vs 50.0 ms');
  t.equal(verdictWord(v.get('durable-put-p99-vs-etcd')!), 'pass', '40 ms < 50 ms');
  t.equal(verdictWord(v.get('r2-get-vs-w2-put')!), 'pass', '4,500 = 1.5 × 3,000 (the default load row)');
  t.equal(verdictWord(v.get('r2-get-vs-etcd')!), 'MISS', '4,500 < 5 × 901');
  t.equal(verdictWord(v.get('r1-get-vs-redis')!), 'pass', '20,000 = 0.5 × 40,000');
  t.equal(verdictWord(v.get('ycsb-A-R=W=2')!), 'MISS', '2,999 < 3,000 (the default load row)');
  t.equal(verdictWord(v.get('ycsb-B-R=W=2')!), 'n/a', 'workload B not run');
  t.equal(verdictWord(v.get('cpu-per-w2-put')!), 'MISS');
  t.equal(v.get('cpu-per-w2-put')?.detail, '600 µs', 'the default load row');
  t.equal(verdictWord(v.get('p99-at-half-peak')!), 'n/a', 'no half-peak row in this run');
  t.end();
});

t.test('the p99 at half of peak reads the open-loop row', (t) => {
  const at = (p99: number) => byId([defaultLoad, row('mydatastore', 'R=W=2 (QUORUM)', HALF_PEAK, 1500, p99)]).get('p99-at-half-peak')!;
  t.equal(verdictWord(at(5)), 'pass', '5 ms exactly');
  t.equal(at(5).detail, '5.0 ms at 1,500 puts/s');
  t.equal(verdictWord(at(5.1)), 'MISS');
  const failing = { ...row('mydatastore', 'R=W=2 (QUORUM)', HALF_PEAK, 1500, 1), errors: 3 };
  const v = byId([defaultLoad, failing]).get('p99-at-half-peak')!;
  t.equal(verdictWord(v), 'MISS', 'a fast p99 with failed puts is no pass');
  t.match(v.detail, /3 failed of 1503/);
  t.end();
});

t.test('the durable verdicts read only the durable load row, the others only the default one', (t) => {
  const onlyDefault = byId([defaultLoad, etcdLoad]);
  t.equal(verdictWord(onlyDefault.get('durable-put-vs-etcd')!), 'n/a', 'no durable row: the default one does not stand in');
  t.equal(verdictWord(onlyDefault.get('durable-put-p99-vs-etcd')!), 'n/a');
  const onlyDurable = byId([durableLoad, etcdLoad, row('redis', REDIS_WAIT, 'load', 15_000)]);
  t.equal(verdictWord(onlyDurable.get('durable-put-vs-etcd')!), 'pass');
  for (const id of ['w2-put-vs-redis', 'w2-put-p99', 'r2-get-vs-w2-put', 'cpu-per-w2-put']) {
    t.equal(verdictWord(onlyDurable.get(id)!), 'n/a', `${id}: no default row: the durable one does not stand in`);
  }
  t.end();
});

t.test('without peers, every comparison with a peer is n/a, never a pass', (t) => {
  const v = clusterVerdicts([row('mydatastore', 'R=W=2 (QUORUM)', 'load', 3000, 5, 90), row('mydatastore', DURABLE_QUORUM.name, 'load', 1500, 20, 200)]);
  for (const x of v.filter((x) => /redis|etcd/i.test(x.what))) t.equal(x.pass, undefined, x.id);
  t.equal(verdictWord(v.find((x) => x.id === 'cpu-per-w2-put')!), 'pass', '90 µs, the default load row');
  t.end();
});
