/**
 * RaftDriver in one process, on an in-memory file system and a recording client: what it acknowledges is
 * durable first (an append ack leaves only after the fsync; a crash right after it loses nothing), bad
 * input on the Raft method gets a typed error, never a crash, and the leader changes it sees are counted.
 */
import Long from 'long';
import t from 'tap';
import { MemFileSystem } from '../../lsm/index.js';
import { RaftStorage } from '../../cluster/raft/storage.js';
import type { RaftMessage } from '../../cluster/raft/types.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { InvalidArgumentError, PermissionDeniedError } from '../../rpc/errors.js';
import { GatedFs } from '../support/fault-fs.js';
import { waitFor } from '../support/wait.js';
import { raftRequest, startDriver } from './raft-driver-harness.js';

const append: RaftMessage = {
  type: 'app',
  from: 'L',
  to: 'b',
  term: 5,
  prevIndex: 0,
  prevTerm: 0,
  entries: [{ index: 1, term: 5, type: 'normal', data: new Uint8Array(0) }],
  commit: 0,
};

t.test('an append is acknowledged only after its term and entries are fsynced, and survive a crash', async (t) => {
  const fs = new GatedFs();
  const h = await startDriver(t, fs);
  fs.held = true;
  h.raft(raftRequest([append]));
  await waitFor(() => fs.waitingSyncs > 0, 5000, 'the driver to fsync the append');
  t.same(h.sent.filter((m) => m.type === 'app-resp'), [], 'no ack leaves while the fsync is pending');
  fs.open();
  await waitFor(() => h.sent.some((m) => m.type === 'app-resp'), 5000, 'the ack');
  const ack = h.sent.find((m) => m.type === 'app-resp')!;
  t.match(ack, { to: 'L', term: 5, index: 1, reject: false }, 'the ack covers entry 1 at term 5');

  fs.crash(); // power loss right after the ack left: what was acknowledged must be on disk
  const storage = await RaftStorage.open('/raft', { fs });
  t.teardown(() => storage.close());
  const p = storage.load();
  t.equal(p.hardState.term, 5, 'the term is durable');
  t.same(p.entries.map((e) => [e.index, e.term]), [[1, 5]], 'the acknowledged entry is durable');
});

t.test('bad Raft input gets a typed error and changes nothing', async (t) => {
  const h = await startDriver(t, new MemFileSystem());
  const garbage = mydatastore.cluster.RaftRequest.decode(
    mydatastore.cluster.RaftRequest.encode({ from: { clusterId: 'test', nodeId: 'L' }, message: new Uint8Array([1, 99, 0]) }).finish(),
  );
  t.throws(() => h.raft(garbage), InvalidArgumentError, 'undecodable bytes: INVALID_ARGUMENT');
  t.throws(() => h.raft(garbage), /RAFT_BAD_MESSAGE/, 'naming the RAFT_BAD_MESSAGE code');
  t.throws(() => h.raft(raftRequest([append], 'other')), PermissionDeniedError, 'another cluster id: PERMISSION_DENIED');
  const s = h.driver.status();
  t.equal(Long.fromValue(s.term ?? 0).toNumber(), 0, 'the term did not move');
  t.equal(Long.fromValue(s.lastIndex ?? 0).toNumber(), 0, 'nothing was appended');
});

t.test('leader changes are counted when a different leader becomes known, not for the same one again', async (t) => {
  const h = await startDriver(t, new MemFileSystem());
  const heartbeat = (from: string, term: number): RaftMessage => ({ type: 'heartbeat', from, to: 'b', term, commit: 0 });
  // The driver handles a Ready in one go: once its answer to L is sent, its new soft state was seen too.
  const answered = (n: number) => waitFor(() => h.sent.filter((m) => m.type === 'heartbeat-resp').length >= n, 5000, `heartbeat answer ${n}`);
  t.equal(h.driver.leaderChanges, 0, 'none before any leader is known');
  h.raft(raftRequest([heartbeat('L', 5)]));
  await answered(1);
  t.equal(h.driver.leaderChanges, 1, 'following L: one change');
  h.raft(raftRequest([heartbeat('L', 5)]));
  await answered(2);
  t.equal(h.driver.leaderChanges, 1, 'another heartbeat of the same leader is no change');
  // M has no address here (its answers are dropped): wait for the count itself.
  h.raft(raftRequest([heartbeat('M', 6)]));
  await waitFor(() => h.driver.leaderChanges === 2, 5000, 'a new leader in a new term to count as a second change');
  t.equal(h.driver.status().leaderId, 'M', 'b follows M');
});
