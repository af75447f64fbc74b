/**
 * The operator's reconcile step against recorded cluster states: fixtures/status-*.json are
 * `mydatastore status --json` outputs of a local cluster (node1..node4 on 127.0.0.1:17101..17104) taken
 * while 3 nodes joined, a 4th joined, and the 4th was decommissioned (leaving, then removed).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { reconcile, ReconcileInputError, type ClusterView, type Observed } from '../../deploy/operator/reconcile.js';
import type { NodeStatus } from '../../tools/commands/status.js';

// Tests run from dist/test/deploy/; the fixtures live in the source tree.
function fixture(name: string): NodeStatus {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../../test/deploy/fixtures/status-${name}.json`, import.meta.url)), 'utf8')) as NodeStatus;
}

const podAddress = (ordinal: number): string => `127.0.0.1:${17101 + ordinal}`;
const observed = (replicas: number, readyReplicas: number, cluster: ClusterView | null): Observed => ({ replicas, readyReplicas, cluster });

const threeJoining = fixture('3-joining');
const threeActive = fixture('3-active');
const fourJoining = fixture('4-joining');
const fourActive = fixture('4-active');
const fourLeaving = fixture('4-leaving');
const fourRemoved = fixture('4-removed');

t.test('the fixtures are what they claim to be', (t) => {
  const statuses = (s: NodeStatus): string => s.members.map((m) => `${m.id}:${m.status}`).join(' ');
  t.equal(statuses(threeJoining), 'node1:active node2:joining node3:joining');
  t.equal(statuses(threeActive), 'node1:active node2:active node3:active');
  t.equal(statuses(fourJoining), 'node1:active node2:active node3:active node4:joining');
  t.equal(statuses(fourActive), 'node1:active node2:active node3:active node4:active');
  t.equal(statuses(fourLeaving), 'node1:active node2:active node3:active node4:leaving');
  t.equal(statuses(fourRemoved), 'node1:active node2:active node3:active node4:removed');
  t.end();
});

t.test('a settled cluster of the desired size needs nothing', (t) => {
  t.same(reconcile(3, observed(3, 3, threeActive), podAddress), { kind: 'nothing' });
  t.same(reconcile(4, observed(4, 4, fourActive), podAddress), { kind: 'nothing' });
  t.same(reconcile(3, observed(3, 3, fourRemoved), podAddress), { kind: 'nothing' }, 'a removed member is history');
  t.end();
});

t.test('scale up: one pod at a time, each once the last one joined and streamed', (t) => {
  t.same(reconcile(5, observed(3, 3, threeActive), podAddress), { kind: 'scaleStatefulSet', replicas: 4 });
  const podStarting = reconcile(5, observed(4, 3, threeActive), podAddress);
  t.match(podStarting, { kind: 'wait', reason: /3 of 4 pods are ready/ });
  const notMember = reconcile(5, observed(4, 4, threeActive), podAddress);
  t.match(notMember, { kind: 'wait', reason: /127\.0\.0\.1:17104 is not a member yet/ });
  const joining = reconcile(5, observed(4, 4, fourJoining), podAddress);
  t.match(joining, { kind: 'wait', reason: /streaming \(node4 joining\)/ });
  t.same(reconcile(5, observed(4, 4, fourActive), podAddress), { kind: 'scaleStatefulSet', replicas: 5 });
  t.end();
});

t.test('nothing is scaled while the cluster is still forming', (t) => {
  t.match(reconcile(4, observed(3, 3, threeJoining), podAddress), { kind: 'wait', reason: /node2 joining, node3 joining/ });
  t.match(reconcile(2, observed(3, 3, threeJoining), podAddress), { kind: 'wait', reason: /streaming/ });
  t.end();
});

t.test('scale down: decommission the highest ordinal, wait until it is removed, then remove its pod', (t) => {
  t.same(reconcile(3, observed(4, 4, fourActive), podAddress), { kind: 'decommission', nodeId: 'node4' });
  t.match(reconcile(3, observed(4, 4, fourLeaving), podAddress), { kind: 'wait', reason: /node4 is leaving/ });
  // A removed node is no longer ready (/ready), so its pod counts as not ready: that must not block.
  t.same(reconcile(3, observed(4, 3, fourRemoved), podAddress), { kind: 'scaleStatefulSet', replicas: 3 });
  t.same(reconcile(3, observed(3, 3, fourRemoved), podAddress), { kind: 'nothing' });
  t.end();
});

t.test('scale down waits for every pod to be ready and for other moves to finish', (t) => {
  t.match(reconcile(3, observed(4, 3, fourActive), podAddress), { kind: 'wait', reason: /3 of 4 pods are ready/ });
  // Scaled 3 -> 4 and back before node4 finished joining: it finishes first, then is decommissioned.
  t.match(reconcile(3, observed(4, 4, fourJoining), podAddress), { kind: 'wait', reason: /node4 joining/ });
  t.end();
});

t.test('scale down never goes below N members', (t) => {
  t.match(reconcile(2, observed(3, 3, threeActive), podAddress), { kind: 'wait', reason: /could not hold N=3/ });
  t.end();
});

t.test('a live member without a pod (StatefulSet scaled down by hand) is decommissioned', (t) => {
  t.same(reconcile(3, observed(3, 3, fourActive), podAddress), { kind: 'decommission', nodeId: 'node4' });
  t.same(reconcile(5, observed(3, 3, fourActive), podAddress), { kind: 'decommission', nodeId: 'node4' }, 'before any scale up');
  t.end();
});

t.test('no pods, no answer, no cluster, no leader', (t) => {
  t.same(reconcile(3, observed(0, 0, null), podAddress), { kind: 'scaleStatefulSet', replicas: 1 });
  t.match(reconcile(3, observed(1, 0, null), podAddress), { kind: 'wait', reason: /no node answered/ });
  t.match(reconcile(3, observed(1, 1, { ...threeActive, created: false, members: [] }), podAddress), { kind: 'wait', reason: /not created/ });
  t.match(reconcile(3, observed(3, 3, { ...threeActive, leaderId: '' }), podAddress), { kind: 'wait', reason: /no Raft leader/ });
  t.end();
});

t.test('input that describes no cluster is refused', (t) => {
  t.throws(() => reconcile(0, observed(3, 3, threeActive), podAddress), ReconcileInputError);
  t.throws(() => reconcile(2.5, observed(3, 3, threeActive), podAddress), ReconcileInputError);
  t.throws(() => reconcile(3, observed(-1, 0, threeActive), podAddress), ReconcileInputError);
  t.throws(() => reconcile(3, observed(3, Number.NaN, threeActive), podAddress), ReconcileInputError);
  t.end();
});

t.test('never two steps at once, whatever the observed state', (t) => {
  const statuses = ['active', 'joining', 'leaving', 'removed'] as const;
  const arb = fc.record({
    desired: fc.integer({ min: 1, max: 7 }),
    replicas: fc.integer({ min: 0, max: 7 }),
    ready: fc.integer({ min: 0, max: 7 }),
    members: fc.array(fc.record({ ordinal: fc.integer({ min: 0, max: 7 }), status: fc.constantFrom(...statuses) }), { maxLength: 9 }),
  });
  fc.assert(
    fc.property(arb, ({ desired, replicas, ready, members }) => {
      const cluster: ClusterView = {
        ...threeActive,
        members: members.map((m, i) => ({ id: `n${i}`, address: podAddress(m.ordinal), zone: '', status: m.status, joinedEpoch: 1 })),
      };
      const moving = cluster.members.some((m) => m.status === 'joining' || m.status === 'leaving');
      const action = reconcile(desired, observed(replicas, Math.min(ready, replicas), cluster), podAddress);
      if (replicas === 0) return action.kind === 'scaleStatefulSet' && action.replicas === 1;
      if (action.kind === 'scaleStatefulSet') {
        if (Math.abs(action.replicas - replicas) !== 1) return false;
        if (action.replicas > replicas && (moving || ready < replicas || desired <= replicas)) return false;
        if (action.replicas < replicas && (moving || desired >= replicas)) return false;
      }
      if (action.kind === 'decommission') {
        const m = cluster.members.find((x) => x.id === action.nodeId);
        if (moving || ready < replicas || m === undefined || m.status !== 'active') return false;
      }
      return action.kind !== 'nothing' || desired === replicas;
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 random states');
  t.end();
});
