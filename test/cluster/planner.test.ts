import t from 'tap';
import { type ClusterCommand, encodeCommand } from '../../cluster/state/commands.js';
import { ClusterStateMachine } from '../../cluster/state/cluster-state.js';
import { type GossipView, type PlannerInput, DEFAULT_PLANNER_OPTIONS, planLeaderActions } from '../../cluster/state/planner.js';
import type { ConfChange, ConfState } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';

const MIN = 60_000;
const options = { ...DEFAULT_PLANNER_OPTIONS, removeDeadAfterMs: 10 * MIN };

const alive = (id: string, zone = ''): GossipView => ({ id, address: `${id}:7000`, zone, state: 'alive', sinceMs: 0 });
const gone = (id: string, state: 'dead' | 'left', sinceMs: number, zone = ''): GossipView => ({ id, address: `${id}:7000`, zone, state, sinceMs });

/** A state machine that has applied `commands`, as the leader's committed state. */
function machine(commands: readonly ClusterCommand[]): ClusterStateMachine {
  const sm = new ClusterStateMachine();
  for (const c of commands) commit(sm, [c]);
  return sm;
}
function commit(sm: ClusterStateMachine, commands: readonly ClusterCommand[]): void {
  for (const c of commands) sm.apply({ index: sm.state().appliedIndex + 1, term: 1, type: 'normal', data: encodeCommand(c) });
}
function applyConf(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== cc.node);
  const learners = conf.learners.filter((v) => v !== cc.node);
  if (cc.type === 'add-voter') voters.push(cc.node);
  if (cc.type === 'add-learner') learners.push(cc.node);
  return { voters: voters.sort(), learners: learners.sort() };
}
const addAll = (ids: readonly string[], zone = (_: string): string => ''): ClusterCommand[] =>
  ids.map((id) => ({ type: 'add-member', id, address: `${id}:7000`, zone: zone(id) }));

function input(over: Partial<PlannerInput> & Pick<PlannerInput, 'state' | 'conf' | 'gossip'>): PlannerInput {
  return { self: 'n1', nowMs: 1000, lastEpochBumpMs: 1000, options, pendingConfChange: false, ...over };
}

/** Runs the leader loop: propose, commit everything at once, until the plan is empty. Returns the conf changes made. */
function converge(sm: ClusterStateMachine, conf: ConfState, gossip: readonly GossipView[], over: Partial<PlannerInput> = {}) {
  const changes: ConfChange[] = [];
  for (let round = 0; round < 100; round++) {
    const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...over }));
    commit(sm, plan.commands);
    if (plan.confChange) {
      changes.push(plan.confChange);
      conf = applyConf(conf, plan.confChange);
    }
    if (plan.commands.length === 0 && !plan.confChange) return { conf, changes };
  }
  throw new Error('the planner did not converge');
}

t.test('bootstrap: the leader sets the configuration, then adds itself first and the other alive members', (t) => {
  const sm = new ClusterStateMachine();
  const initialConfig = { partitions: 64, replicas: 3, readQuorum: 2, writeQuorum: 2 };
  const plan = planLeaderActions(
    input({ self: 'n2', state: sm.state(), conf: { voters: ['n2'], learners: [] }, gossip: [alive('n3'), alive('n1'), alive('n2'), gone('n4', 'dead', 0)], options: { ...options, initialConfig }, nowMs: 10 * MIN, lastEpochBumpMs: 0 }),
  );
  t.same(plan.commands, [{ type: 'set-config', config: initialConfig }, ...addAll(['n2', 'n1', 'n3'])]);
  t.equal(plan.confChange, undefined, 'no conf change before the cluster exists');
  commit(sm, plan.commands);
  t.same(sm.state().members.map((m) => m.id), ['n1', 'n2', 'n3']);
  t.equal(sm.state().config.partitions, 64);
  t.end();
});

t.test('a 4th node joins: add-member, then learner, then voter only when the target asks for it', (t) => {
  const sm = machine(addAll(['n1', 'n2', 'n3']));
  let conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  const gossip = ['n1', 'n2', 'n3', 'n4'].map((id) => alive(id));
  let plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, addAll(['n4']));
  t.equal(plan.confChange, undefined, 'not in the Raft config before it is a member');
  commit(sm, plan.commands);
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan, { commands: [], confChange: { type: 'add-learner', node: 'n4' }, notes: [] });
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip, pendingConfChange: true })).confChange, undefined, 'none while one is pending');
  conf = applyConf(conf, plan.confChange!);
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip })), { commands: [], notes: [] }, '3 voters reach the target of 3');
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip, options: { ...options, voterTarget: 5 } }));
  t.same(plan.confChange, { type: 'add-voter', node: 'n4' }, 'with a target of 5 the learner is promoted');
  t.end();
});

t.test('growing from one node: every member gets into the config, one change per call, voters spread over zones', (t) => {
  const zone = (id: string): string => ({ n1: 'a', n2: 'a', n3: 'a', n4: 'b', n5: 'c', n6: 'b' })[id] ?? '';
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  const sm = new ClusterStateMachine();
  const gossip = ids.map((id) => alive(id, zone(id)));
  const { conf, changes } = converge(sm, { voters: ['n1'], learners: [] }, gossip);
  t.same(sm.state().members.map((m) => m.id), ids);
  t.same(conf.voters, ['n1', 'n4', 'n5'], 'one voter per zone, not the first ids');
  t.same(conf.learners, ['n2', 'n3', 'n6']);
  t.ok(changes.every((c, i) => c.type !== 'add-voter' || changes.slice(0, i).some((p) => p.type === 'add-learner' && p.node === c.node)), 'learner before voter');
  t.end();
});

t.test('a dead member is removed only after the timeout, its voter seat refilled from the learners', (t) => {
  const sm = machine(addAll(['n1', 'n2', 'n3', 'n4']));
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
  const diedAt = 5 * MIN;
  const gossip = [alive('n1'), alive('n2'), gone('n3', 'dead', diedAt), alive('n4')];
  const early = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: diedAt + 10 * MIN - 1, lastEpochBumpMs: diedAt + 10 * MIN - 1 }));
  t.same(early, { commands: [], notes: [] }, 'one millisecond before the timeout: nothing');
  const late = { nowMs: diedAt + 10 * MIN, lastEpochBumpMs: diedAt + 10 * MIN };
  const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...late }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n3', status: 'removed' }]);
  t.same(plan.confChange, { type: 'remove', node: 'n3' }, 'the dead voter leaves before anyone is promoted');
  const after = converge(sm, conf, gossip, late);
  t.same(after.conf, { voters: ['n1', 'n2', 'n4'], learners: [] });
  t.equal(sm.state().members.find((m) => m.id === 'n3')?.status, 'removed');
  t.end();
});

t.test('left: a stopped member waits for the timeout like a dead one; a decommissioned (leaving) one goes at once', (t) => {
  const sm = machine([...addAll(['n1', 'n2', 'n3']), { type: 'set-member-status', id: 'n3', status: 'leaving' }]);
  const conf: ConfState = { voters: ['n1'], learners: ['n2', 'n3'] };
  const gossip = [alive('n1'), gone('n2', 'left', 1000), gone('n3', 'left', 1000)];
  const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: 2000, lastEpochBumpMs: 2000 }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n3', status: 'removed' }]);
  t.same(plan.confChange, { type: 'remove', node: 'n3' });
  const later = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: 1000 + 10 * MIN, lastEpochBumpMs: 1000 + 10 * MIN }));
  t.same(later.commands, [
    { type: 'set-member-status', id: 'n2', status: 'removed' },
    { type: 'set-member-status', id: 'n3', status: 'removed' },
  ]);
  t.end();
});

t.test('epoch bumps exactly when the interval has elapsed, to epoch + 1', (t) => {
  const sm = machine([...addAll(['n1']), { type: 'increment-epoch', to: 2 }]);
  const base = { state: sm.state(), conf: { voters: ['n1'], learners: [] }, gossip: [alive('n1')], lastEpochBumpMs: 100_000 };
  t.same(planLeaderActions(input({ ...base, nowMs: 129_999 })).commands, []);
  t.same(planLeaderActions(input({ ...base, nowMs: 130_000 })).commands, [{ type: 'increment-epoch', to: 3 }]);
  t.same(planLeaderActions(input({ ...base, nowMs: 130_000, options: { ...options, epochIntervalMs: 5000 }, lastEpochBumpMs: 126_000 })).commands, []);
  t.end();
});

t.test('never removes self or the last voter; a removed id that comes back is reported, not re-added', (t) => {
  const sm = machine([...addAll(['n1', 'n2', 'n3']), { type: 'set-member-status', id: 'n1', status: 'leaving' }, { type: 'set-member-status', id: 'n3', status: 'removed' }]);
  const plan = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: ['n2'] }, gossip: [alive('n1'), alive('n2'), alive('n3')] }));
  t.same(plan.commands, []);
  t.same(plan.confChange, { type: 'add-voter', node: 'n2' }, 'a replacement for the leaving leader is promoted');
  t.match(plan.notes, [/n3 was removed and is alive again/]);
  const plan2 = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1', 'n2'], learners: [] }, gossip: [alive('n1'), alive('n2')] }));
  t.equal(plan2.confChange, undefined, 'the leaving leader is not removed by itself');
  t.match(plan2.notes, [/transfer leadership/]);
  const lone = machine([...addAll(['n1', 'n2']), { type: 'set-member-status', id: 'n2', status: 'removed' }]);
  t.equal(planLeaderActions(input({ state: lone.state(), conf: { voters: ['n2'], learners: ['n1'] }, gossip: [alive('n1')] })).confChange?.type, 'add-voter', 'the last voter is not removed, a learner is promoted first');
  t.end();
});

t.test('deterministic: the gossip order does not matter', (t) => {
  const sm = machine(addAll(['n1', 'n2']));
  const rng = new Rng(11);
  const gossip = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id, i) => alive(id, `z${i % 2}`));
  const want = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: [] }, gossip }));
  for (let i = 0; i < 20; i++) {
    t.same(planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: [] }, gossip: rng.shuffle([...gossip]) })), want);
  }
  t.end();
});
