/**
 * RaftDriver at the seams between the Raft core, its storage and the cluster state machine: a snapshot
 * that replaces a disagreeing log is what a restart finds (no stale entries, the state machine restored
 * from it, later committed entries applied once); a failed fsync sends nothing and stops the driver.
 */
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { MemFileSystem } from '../../lsm/index.js';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { RaftDriver } from '../../cluster/raft/driver.js';
import { AppliedWaiters } from '../../cluster/raft/driver-proposals.js';
import { decommission } from '../../cluster/raft/driver-decommission.js';
import { RaftStorage } from '../../cluster/raft/storage.js';
import type { Entry } from '../../cluster/raft/types.js';
import { ClusterStateMachine } from '../../cluster/state/cluster-state.js';
import { encodeCommand, type ClusterCommand } from '../../cluster/state/commands.js';
import { FailingFs, GatedFs } from '../support/fault-fs.js';
import { waitFor } from '../support/wait.js';
import { raftRequest, startDriver } from './raft-driver-harness.js';

const noop = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(0) });
const cmd = (index: number, term: number, c: ClusterCommand): Entry => ({ index, term, type: 'normal', data: encodeCommand(c) });

t.test('a snapshot over a disagreeing log: storage drops the stale entries; a restart restores from it and applies the rest once', async (t) => {
  const fs = new MemFileSystem();
  let h = await startDriver(t, fs);
  // Uncommitted entries 1..3 of term 5 that the leader of term 6 will not have.
  h.raft(raftRequest([{ type: 'app', from: 'L', to: 'b', term: 5, prevIndex: 0, prevTerm: 0, entries: [noop(1, 5), noop(2, 5), noop(3, 5)], commit: 0 }]));
  await waitFor(() => h.sent.some((m) => m.type === 'app-resp' && m.index === 3), 5000, 'the ack of 1..3');

  // The leader's state at index 10 (term 6): member L, epoch 4.
  const sm = new ClusterStateMachine();
  const log: Entry[] = [cmd(1, 6, { type: 'add-member', id: 'L', address: '127.0.0.1:1', zone: '' })];
  for (let i = 2; i <= 4; i++) log.push(cmd(i, 6, { type: 'increment-epoch', to: i }));
  for (let i = 5; i <= 10; i++) log.push(noop(i, 6));
  for (const e of log) sm.apply(e);
  const snapshot = { index: 10, term: 6, conf: { voters: ['L'], learners: ['b'] }, data: sm.snapshot() };
  h.raft(raftRequest([{ type: 'snap', from: 'L', to: 'b', term: 6, snapshot }]));
  await waitFor(() => h.driver.clusterState().appliedIndex === 10, 5000, 'the snapshot installed');
  t.equal(h.driver.clusterState().epoch, 4, 'state machine restored from the snapshot');
  h.raft(raftRequest([{ type: 'app', from: 'L', to: 'b', term: 6, prevIndex: 10, prevTerm: 6, entries: [cmd(11, 6, { type: 'increment-epoch', to: 5 })], commit: 11 }]));
  await waitFor(() => h.driver.clusterState().appliedIndex === 11, 5000, 'entry 11 applied');
  t.equal(h.driver.clusterState().epoch, 5);
  await h.driver.stop();

  const storage = await RaftStorage.open('/raft', { fs });
  const p = storage.load();
  await storage.close();
  t.equal(p.snapshot?.index, 10, 'snapshot stored');
  t.same(p.entries.map((e) => [e.index, e.term]), [[11, 6]], 'the stale entries of term 5 are gone');
  t.equal(p.hardState.commit, 11);

  h = await startDriver(t, fs);
  t.equal(h.driver.clusterState().epoch, 5, 'after a restart: epoch from the snapshot plus entry 11, not lower');
  t.equal(h.driver.clusterState().appliedIndex, 11);
  t.same(h.driver.status().learners, ['b'], 'the configuration of the snapshot');
});

t.test('a failed fsync: nothing is sent, the driver stops and reports it, stop() still settles', async (t) => {
  const fs = new FailingFs();
  const fatal: Error[] = [];
  const h = await startDriver(t, fs, (e) => fatal.push(e));
  fs.failing = true;
  h.raft(raftRequest([{ type: 'app', from: 'L', to: 'b', term: 5, prevIndex: 0, prevTerm: 0, entries: [noop(1, 5)], commit: 0 }]));
  await waitFor(() => fatal.length > 0, 5000, 'onFatal');
  await new Promise((r) => setTimeout(r, 50));
  t.same(h.sent, [], 'no ack for state that is not on disk');
  t.match(fatal[0]!.message, /EIO/);
  t.throws(() => h.raft(raftRequest([{ type: 'heartbeat', from: 'L', to: 'b', term: 5, commit: 0 }])), /not running/, 'refuses further input');
  fs.failing = false;
  await h.driver.stop().then(
    () => t.pass('stop resolved'),
    (e: unknown) => t.pass(`stop rejected (${String(e)}) but settled`),
  );
});

t.test('a node that just won an election waits a full epoch interval before its first bump, even while its term is being persisted', async (t) => {
  const fs = new GatedFs();
  const self: MemberRecord = { id: 'a', address: '127.0.0.1:3', incarnation: 1, state: 'alive', meta: {} };
  const clock = () => 1e9 + performance.now(); // far from 0: a planner that read lastEpochBumpMs = 0 would bump at once
  const options = {
    id: 'a',
    address: '127.0.0.1:3',
    clusterId: 'test',
    dir: '/raft',
    fs,
    server: { handle: () => undefined } as never,
    client: { call: () => Promise.resolve({}), destroy: () => {} } as never,
    membership: { members: () => [self] },
    tickMs: 5,
    electionTicks: 4,
    planIntervalMs: 2,
    epochIntervalMs: 3_600_000,
    clock,
  };
  let d = await RaftDriver.open({ ...options, bootstrap: true });
  d.start();
  await waitFor(() => d.clusterState().created, 5000, 'the cluster created');
  t.equal(d.clusterState().epoch, 1);
  await d.stop();

  // Restart: the node campaigns again; its new term waits for an fsync we hold while the planner ticks.
  d = await RaftDriver.open({ ...options, bootstrap: false });
  t.teardown(() => d.stop());
  fs.held = true;
  d.start();
  await waitFor(() => d.status().role === 'leader', 5000, 'leader again (in the core)');
  await new Promise((r) => setTimeout(r, 30)); // many planner rounds while the Ready is not persisted
  fs.open();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(d.clusterState().epoch, 1, 'no epoch bump right after the election');
});

t.test('a second proposal at the same index (after a leader change) is not dropped by the first one timing out', async (t) => {
  const w = new AppliedWaiters();
  const first = w.wait(5, 1, 20);
  const second = w.wait(5, 3, 2000);
  await t.rejects(first, /replaced/, 'the first waiter is told it was replaced');
  await new Promise((r) => setTimeout(r, 40)); // past the first waiter's timeout
  w.applied(noop(5, 3), { index: 5, applied: true, ringChanged: false });
  const r = await Promise.race([second, new Promise((r) => setTimeout(() => r('timeout'), 500))]);
  t.match(r, { index: 5, applied: true }, 'the second waiter gets its result');
  w.failAll('done');
});

/** What decommission() needs of the driver, on node 'a', around a fake Raft and cluster state. */
function leaderContext(raft: object, waiters: AppliedWaiters, state: () => object) {
  return {
    self: 'a',
    raft: raft as never,
    client: { call: () => Promise.reject(new Error('unused')) } as never,
    waiters,
    log: { debug() {}, info() {}, warn() {}, error() {} } as never,
    state: state as never,
    addressOf: () => undefined,
    pump: () => {},
  };
}

t.test('decommission of the leader hands leadership to the most caught-up voter, not the first listed (maybe dead)', async (t) => {
  const transfers: string[] = [];
  const raft = {
    status: () => ({
      role: 'leader',
      leader: 'a',
      applied: 9,
      conf: { voters: ['a', 'b', 'c'], learners: [] },
      progress: { b: { match: 2, next: 3, learner: false }, c: { match: 9, next: 10, learner: false } },
    }),
    transferLeadership: (to: string) => void transfers.push(to),
  };
  const ctx = leaderContext(raft, new AppliedWaiters(), () => ({ epoch: 3, members: [{ id: 'a', address: 'x', zone: '', status: 'active', joinedEpoch: 1 }] }));
  await t.rejects(decommission(ctx, 'a', false), /handing leadership to c/);
  t.same(transfers, ['c']);
});

t.test('a decommission retried while the first request\'s proposal was being committed waits with it instead of failing', async (t) => {
  let status = 'active';
  const waiters = new AppliedWaiters();
  const proposed: number[] = [];
  const raft = {
    status: () => ({ role: 'leader', leader: 'a', applied: 4, conf: { voters: ['a', 'c', 'd'], learners: [] }, progress: {} }),
    propose: () => {
      proposed.push(5);
      return { index: 5, term: 2 };
    },
  };
  const ctx = leaderContext(raft, waiters, () => ({ epoch: 3, appliedIndex: 5, members: [{ id: 'a', status: 'active' }, { id: 'b', status }] }));
  const answer = decommission(ctx, 'b', false);
  t.same(proposed, [5], 'b was active: the retry proposed leaving again');
  // The first request's proposal (index 4) applied meanwhile, so this one finds b leaving already.
  status = 'leaving';
  waiters.applied(cmd(5, 2, { type: 'set-member-status', id: 'b', status: 'leaving' }), { index: 5, applied: false, reason: 'member b is already leaving', ringChanged: false });
  setTimeout(() => (status = 'removed'), 100);
  t.match(await answer, { leaderId: 'a' }, 'it answers once b is removed');
  // A proposal refused for any other reason (b still active) is still an error.
  status = 'active';
  const refused = decommission(ctx, 'b', false);
  waiters.applied(cmd(5, 2, { type: 'set-member-status', id: 'b', status: 'leaving' }), { index: 5, applied: false, reason: 'member b is the last member of the cluster', ringChanged: false });
  await t.rejects(refused, { code: 'RPC_INVALID_ARGUMENT', message: /b was not decommissioned: member b is the last member/ });
});
