/**
 * Token-aware routing, pure: the client's ring, computed from a Status answer that went through the wire
 * encoding, gives the same preference list for every partition as the coordinator's own ring
 * (cluster/coordinator-ring.ts over the committed state); writes go to the first live replica, reads rotate
 * over the live ones, and the router refuses stale or inconsistent answers.
 */
import t from 'tap';
import { NodeHealth } from '../../client/health.js';
import { ringSourceOf } from '../../client/ring-refresh.js';
import { Router, RoutingTable, type RingSource } from '../../client/routing.js';
import { SeedPicker } from '../../client/seeds.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import { statusResponse } from '../../cluster/raft/driver-views.js';
import type { ClusterMember, ClusterState } from '../../cluster/state/cluster-state.js';
import { ringOf } from '../../cluster/state/cluster-state.js';
import { mydatastore } from '../../proto/gen/messages.js';

const addr = (id: string): string => `10.0.0.${id.replace(/\D/g, '')}:7000`;

function member(id: string, zone: string, status: ClusterMember['status'] = 'active'): ClusterMember {
  return { id, address: addr(id), zone, status, joinedEpoch: 1 };
}

function state(members: ClusterMember[], partitions = 64, replicas = 3, epoch = 9): ClusterState {
  return { epoch, config: { partitions, replicas, readQuorum: 2, writeQuorum: 2 }, members, appliedIndex: 40, created: true };
}

/** The Status answer a node with this committed state sends, encoded and decoded as on the wire. */
function statusOf(s: ClusterState): mydatastore.cluster.StatusResponse {
  const raft = { id: 'n1', term: 3, vote: 'n1', commit: 40, applied: 40, lastIndex: 40, snapshotIndex: 0, role: 'leader' as const, leader: 'n1', conf: { voters: ['n1'], learners: [] }, progress: {} };
  const pb = statusResponse({ nodeId: 'n1', address: addr('n1'), clusterId: 'c', raft, state: s, ring: ringOf(s), snapshotsInstalled: 0 });
  const Status = mydatastore.cluster.StatusResponse;
  return Status.decode(Status.encode(pb).finish());
}

const key = (i: number): Buffer => Buffer.from(`key-${i}`);

t.test('the client computes the coordinator\'s preference list for every partition (zones, leaving and removed members)', (t) => {
  const shapes: [string, ClusterState][] = [
    ['3 nodes, one zone', state([member('n1', ''), member('n2', ''), member('n3', '')])],
    ['7 nodes in 3 zones, one leaving, one removed', state([
      member('n1', 'a'), member('n2', 'a'), member('n3', 'b'), member('n4', 'b', 'leaving'),
      member('n5', 'c'), member('n6', 'c', 'removed'), member('n7', 'a'),
    ])],
    ['5 nodes, P=256, N=2', state([member('n1', ''), member('n2', ''), member('n3', ''), member('n4', ''), member('n5', '')], 256, 2)],
  ];
  for (const [name, s] of shapes) {
    const table = RoutingTable.from(ringSourceOf(statusOf(s)));
    if (typeof table === 'string') {
      t.fail(`${name}: refused: ${table}`);
      continue;
    }
    const view = new RingCache(() => s).current()!;
    let same = 0;
    for (let p = 0; p < s.config.partitions; p++) {
      const server = view.ring.preferenceList(p).map((id) => view.addressOf(id));
      if (JSON.stringify(table.ring.preferenceList(p).map(addr)) === JSON.stringify(server)) same++;
    }
    t.equal(same, s.config.partitions, `${name}: all ${s.config.partitions} preference lists identical`);
    const keysAgree = Array.from({ length: 500 }, (_, i) => key(i)).every(
      (k) => JSON.stringify(table.replicasOf(k)) === JSON.stringify(view.ring.nodesFor(k).map((id) => view.addressOf(id))),
    );
    t.ok(keysAgree, `${name}: 500 keys map to the same replica addresses`);
  }
  t.end();
});

/** A 5-node ring at epoch 9 (P=64, N=3): routing matters, each key has 3 of the 5 nodes. */
function source(): RingSource {
  return ringSourceOf(statusOf(state([member('n1', ''), member('n2', ''), member('n3', ''), member('n4', ''), member('n5', '')], 64, 3, 9)));
}

t.test('writes go to the first live replica, reads rotate over the live replicas, a down replica is skipped', (t) => {
  const health = new NodeHealth(1000);
  const router = new Router(health);
  t.same(router.targets(key(1), false, 0), [], 'no table: no targets (the seeds are used)');
  t.equal(router.update(source()), 'taken');
  const replicas = router.current!.replicasOf(key(1));
  t.equal(replicas.length, 3);
  t.same(router.targets(key(1), false, 0), replicas, 'a write: preference order');
  const firsts = new Set([0, 1, 2, 3, 4, 5].map(() => router.targets(key(1), true, 0)[0]));
  t.same([...firsts].sort(), [...replicas].sort(), 'reads start at each replica in turn');
  health.markDown(replicas[0]!, 0);
  t.same(router.targets(key(1), false, 10), replicas.slice(1), 'the primary marked down is skipped');
  t.same(router.targets(key(1), false, 1000), replicas, 'and used again once its down time passed');
  for (const a of replicas) health.markDown(a, 2000);
  t.same(router.targets(key(1), true, 2500), [], 'every replica down: no targets (the seeds are used)');
  t.end();
});

t.test('stale, uncreated and inconsistent Status answers are not taken', (t) => {
  const router = new Router(new NodeHealth(1000));
  const s9 = source();
  t.equal(router.update(s9), 'taken');
  t.equal(router.update({ ...s9, epoch: 8, members: s9.members.slice(0, 3), ringMembers: s9.ringMembers.slice(0, 3) }), 'stale', 'an older epoch of the same cluster');
  t.equal(router.current!.ring.members.length, 5, 'the newer ring stays');
  t.equal(router.update({ ...s9, epoch: 10, ringMembers: ['n1', 'n2'] }), 'refused', 'ring members that disagree with the computed ring');
  t.match(router.lastRefusal, /differs from the node's/);
  t.equal(router.update({ ...s9, epoch: 10, created: false }), 'refused');
  t.equal(router.update({ ...s9, epoch: 10, partitions: 0 }), 'refused');
  t.equal(router.update({ ...s9, clusterId: 'other', epoch: 1 }), 'taken', 'another cluster (recreated) replaces the table whatever its epoch');
  const before = router.current!;
  t.equal(router.update({ ...s9, clusterId: 'other', epoch: 2 }), 'taken');
  t.equal(router.current!.ring, before.ring, 'an unchanged ring is reused, not rebuilt');
  t.end();
});

t.test('the seed picker round-robins over live seeds and fails over past down ones', (t) => {
  const health = new NodeHealth(100);
  const p = new SeedPicker(['a', 'b', 'c'], health);
  t.same([p.first(0), p.first(0), p.first(0), p.first(0)], ['a', 'b', 'c', 'a']);
  health.markDown('b', 0);
  t.equal(p.after('a', 50), 'c', 'after a: b is down, c');
  t.equal(p.after('replica:1', 50), 'c', 'after a replica: the round-robin, past b');
  t.equal(p.after('a', 150), 'b', 'b is tried again after its down time');
  t.end();
});
