/**
 * The /status.json document (tools/node-status.ts) built from fake sources: members joined with gossip
 * (committed first, gossip-only ones after), replica and primary counts that add up to the ring, the
 * anti-entropy state of exactly the partitions this node replicates, and request counts summed over both
 * APIs per operation — what the status page reads.
 */
import t from 'tap';
import type { PartitionRepairState } from '../../cluster/antientropy/service.js';
import { newStats } from '../../cluster/antientropy/stats.js';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { buildRing } from '../../cluster/ring.js';
import type { NodeStatus } from '../../tools/commands/status.js';
import { Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../../tools/metrics.js';
import { histogramSeries, nodeStatusReport, STATUS_FORMAT_VERSION, type NodeStatusSources } from '../../tools/node-status.js';

const P = 16;

function committed(): NodeStatus {
  return {
    nodeId: 'n1', address: '127.0.0.1:7001', clusterId: 'c', role: 'leader', leaderId: 'n1', term: 3, commitIndex: 40, appliedIndex: 40,
    lastIndex: 40, snapshotIndex: 0, snapshotsInstalled: 0, epoch: 10, created: true,
    config: { partitions: P, replicas: 2, readQuorum: 1, writeQuorum: 2 },
    members: [
      { id: 'n1', address: '127.0.0.1:7001', zone: 'a', status: 'active', joinedEpoch: 1 },
      { id: 'n2', address: '127.0.0.1:7002', zone: 'b', status: 'active', joinedEpoch: 2 },
      { id: 'n3', address: '127.0.0.1:7003', zone: '', status: 'active', joinedEpoch: 3 },
    ],
    voters: ['n1', 'n2'], learners: ['n3'], ringMembers: ['n1', 'n2', 'n3'],
  };
}

const gossip = (id: string, state: MemberRecord['state'], zone?: string): MemberRecord => ({ id, address: `127.0.0.1:${7000 + Number(id.slice(1))}`, incarnation: 1, state, meta: zone === undefined ? {} : { zone } });

// The latency histogram as the node's prom-client registry holds it, read back as /status.json reads it.
const h = new Histogram({ name: 'mydatastore_client_request_duration_seconds', help: 'latency', labelNames: ['api', 'op'], buckets: [...LATENCY_BUCKETS], registers: [new Registry()] });
h.observe({ api: 'rpc', op: 'get' }, 0.002);
h.observe({ api: 'http', op: 'get' }, 0.02);
h.observe({ api: 'http', op: 'put' }, 20);
const latency = await histogramSeries(h);

function sources(over: Partial<NodeStatusSources> = {}): NodeStatusSources {
  const ring = buildRing([{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], { partitions: P, replicas: 2 });
  const repair = (p: number): PartitionRepairState => ({ verifiedThrough: p % 2 === 0 ? 8 : 5, running: p === 3, failures: p === 5 ? 2 : 0 });
  return {
    version: '9.9.9',
    status: committed,
    ring: () => ({ ring, pendingOwners: (p: number) => (p === 0 ? ['n4'] : []) }),
    gossip: () => [gossip('n1', 'alive'), gossip('n3', 'suspect'), gossip('n5', 'alive', 'c'), gossip('n4', 'alive')],
    antiEntropy: { antiEntropyStats: () => ({ ...newStats(), sessions: 7 }), partitionState: repair },
    latency,
    now: () => 1234,
    ...over,
  };
}

t.test('members: committed ones in order with gossip state and Raft role, then gossip-only ones by id', (t) => {
  const r = nodeStatusReport(sources());
  t.equal(r.format, STATUS_FORMAT_VERSION);
  t.equal(r.timeMs, 1234);
  t.same(r.node, { id: 'n1', address: '127.0.0.1:7001', clusterId: 'c' });
  t.same(r.raft, { role: 'leader', leaderId: 'n1', term: 3, commitIndex: 40, appliedIndex: 40, voters: ['n1', 'n2'], learners: ['n3'] });
  t.same(r.cluster, { created: true, epoch: 10, config: { partitions: P, replicas: 2, readQuorum: 1, writeQuorum: 2 } });
  t.same(
    r.members.map((m) => [m.id, m.status, m.zone, m.gossip, m.raft]),
    [
      ['n1', 'active', 'a', 'alive', 'voter'],
      ['n2', 'active', 'b', 'unknown', 'voter'],
      ['n3', 'active', '', 'suspect', 'learner'],
      ['n4', 'uncommitted', '', 'alive', ''],
      ['n5', 'uncommitted', 'c', 'alive', ''],
    ],
  );
  t.end();
});

t.test('ring: every partition\'s owners; replica and primary counts add up to P × N and P', (t) => {
  const r = nodeStatusReport(sources());
  t.equal(r.ring.partitions, P);
  t.equal(r.ring.owners.length, P);
  for (const owners of r.ring.owners) t.equal(new Set(owners).size, 2, 'N distinct owners');
  t.same(r.ring.pending[0], ['n4']);
  t.same(r.ring.pending[1], []);
  t.equal(r.members.reduce((a, m) => a + m.replicas, 0), P * 2);
  t.equal(r.members.reduce((a, m) => a + m.primaries, 0), P);
  for (const m of r.members) t.equal(m.replicas, r.ring.owners.filter((o) => o.includes(m.id)).length, `${m.id}'s replicas`);
  t.end();
});

t.test('anti-entropy: exactly the partitions this node replicates, with the epochs still due', (t) => {
  const r = nodeStatusReport(sources());
  const mine = r.ring.owners.flatMap((o, p) => (o.includes('n1') ? [p] : []));
  t.ok(mine.length > 0 && mine.length < P, 'n1 holds some partitions, not all');
  t.same(r.antiEntropy.partitions.map((p) => p.partition), mine);
  for (const p of r.antiEntropy.partitions) {
    // Epoch 10: verified through 8 is up to date (10 − 2); through 5 leaves 3 epochs due.
    t.equal(p.lagEpochs, p.partition % 2 === 0 ? 0 : 3, `partition ${p.partition}`);
    t.equal(p.running, p.partition === 3);
    t.equal(p.failures, p.partition === 5 ? 2 : 0);
  }
  t.equal(r.antiEntropy.stats.sessions, 7);
  t.end();
});

t.test('requests: counts, sums and cumulative buckets per operation, both APIs together', (t) => {
  const r = nodeStatusReport(sources());
  const bounds = r.requests.bucketsSeconds;
  t.same(bounds, LATENCY_BUCKETS, 'the bounds are read back from prom-client\'s le labels');
  t.ok(bounds.length > 0);
  t.same(r.requests.ops.map((o) => [o.op, o.count]), [['get', 2], ['put', 1]]);
  const get = r.requests.ops[0]!;
  t.ok(Math.abs(get.sumSeconds - 0.022) < 1e-9);
  t.same(get.buckets, bounds.map((b) => (b >= 0.02 ? 2 : b >= 0.002 ? 1 : 0)));
  const put = r.requests.ops[1]!;
  t.same(put.buckets, bounds.map(() => 0), 'an observation past the last bound is in no bucket, only in count');
  t.end();
});

t.test('before the cluster is created: no ring, no partitions, no requests; the document still answers', (t) => {
  const r = nodeStatusReport(sources({ status: () => ({ ...committed(), created: false, epoch: 0, members: [], leaderId: '' }), ring: () => undefined, latency: undefined }));
  t.same(r.ring, { partitions: 0, owners: [], pending: [] });
  t.same(r.antiEntropy.partitions, []);
  t.same(r.requests, { bucketsSeconds: [], ops: [] });
  t.same(r.members.map((m) => m.status), ['uncommitted', 'uncommitted', 'uncommitted', 'uncommitted']);
  t.doesNotThrow(() => JSON.stringify(r));
  t.end();
});
