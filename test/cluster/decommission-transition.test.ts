/**
 * Decommission (method 72) with membership transitions: an active member cannot start leaving while
 * another transition is in flight (UNAVAILABLE, retry); a joining member is removed outright; an active
 * one is set leaving and the answer waits for its removal (or asks the caller to retry).
 */
import t from 'tap';
import { decommission, type DecommissionContext } from '../../cluster/raft/driver-decommission.js';
import { AppliedWaiters } from '../../cluster/raft/driver-proposals.js';
import { decodeCommand, type ClusterCommand } from '../../cluster/state/commands.js';
import type { ClusterMember, ClusterState } from '../../cluster/state/snapshot-codec.js';
import { UnavailableError } from '../../rpc/errors.js';

const member = (id: string, status: ClusterMember['status']): ClusterMember => ({ id, address: `${id}:1`, zone: '', status, joinedEpoch: 1 });

function context(members: ClusterMember[]): { ctx: DecommissionContext; proposed: ClusterCommand[]; setState: (m: ClusterMember[]) => void } {
  let state: ClusterState = { epoch: 3, config: { partitions: 8, replicas: 3, readQuorum: 2, writeQuorum: 2 }, members, appliedIndex: 10, created: true, transition: 1 };
  const waiters = new AppliedWaiters();
  const proposed: ClusterCommand[] = [];
  let index = 10;
  const raft = {
    status: () => ({ role: 'leader', leader: 'n1', applied: index, conf: { voters: ['n1', 'n2', 'n3'], learners: [] }, progress: {} }),
    propose: (data: Uint8Array) => {
      proposed.push(decodeCommand(data));
      const at = ++index;
      setImmediate(() => waiters.applied({ index: at, term: 1, type: 'normal', data }, { index: at, applied: true, ringChanged: true }));
      return { index: at, term: 1 };
    },
  };
  const ctx = {
    self: 'n1',
    raft: raft as never,
    client: { call: () => Promise.reject(new Error('unused')) } as never,
    waiters,
    log: { debug() {}, info() {}, warn() {}, error() {} } as never,
    state: () => state,
    addressOf: () => undefined,
    pump: () => {},
  };
  return { ctx, proposed, setState: (m) => (state = { ...state, members: m }) };
}

t.test('an active member cannot start leaving during another transition', async (t) => {
  const { ctx, proposed } = context([member('n1', 'active'), member('n2', 'active'), member('n3', 'active'), member('n4', 'joining')]);
  await t.rejects(decommission(ctx, 'n2', false), UnavailableError);
  await t.rejects(decommission(ctx, 'n2', false), /transition 1 is in flight \(n4 joining\); retry/);
  t.same(proposed, [], 'nothing proposed');
});

t.test('a joining member is removed outright; an active one is set leaving and the answer waits for its removal', async (t) => {
  const { ctx, proposed, setState } = context([member('n1', 'active'), member('n2', 'active'), member('n3', 'active'), member('n4', 'joining')]);
  // The fake applies nothing to the state: flip n4 to removed as the real state machine would.
  const removed = decommission(ctx, 'n4', false);
  setTimeout(() => setState([member('n1', 'active'), member('n2', 'active'), member('n3', 'active'), member('n4', 'removed')]), 20);
  t.match(await removed, { leaderId: 'n1' });
  t.same(proposed, [{ type: 'set-member-status', id: 'n4', status: 'removed' }]);
  const leaving = decommission(ctx, 'n2', false);
  setTimeout(() => setState([member('n1', 'active'), member('n2', 'removed'), member('n3', 'active'), member('n4', 'removed')]), 100);
  t.match(await leaving, { leaderId: 'n1' }, 'answered once n2 is removed');
  t.same(proposed[1], { type: 'set-member-status', id: 'n2', status: 'leaving' });
});
