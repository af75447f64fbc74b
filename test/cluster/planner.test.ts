import t from 'tap';
import { type ClusterCommand, encodeCommand } from '../../cluster/state/commands.js';
import { ClusterStateMachine } from '../../cluster/state/cluster-state.js';
import { type GossipView, type PlannerInput, DEFAULT_PLANNER_OPTIONS, planLeaderActions } from '../../cluster/state/planner.js';
import { transitionOf } from '../../cluster/state/transition.js';
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

/** Commits stream-done for every gainer of the current transition that has not reported (what their nodes do). */
function reportAll(sm: ClusterStateMachine, only?: (id: string) => boolean): boolean {
  const s = sm.state();
  const todo = [...transitionOf(s).gained.keys()].filter((id) => (only?.(id) ?? true) && (s.members.find((m) => m.id === id)?.streamedTransition ?? 0) !== s.transition);
  commit(sm, todo.map((id) => ({ type: 'stream-done', id, transition: s.transition ?? 0 })));
  return todo.length > 0;
}

/** A state machine where `ids` joined and their transition finished: all active. */
function joined(ids: readonly string[], zone?: (id: string) => string): ClusterStateMachine {
  const sm = machine(addAll(ids, zone));
  reportAll(sm);
  if (ids.length > 1) commit(sm, [{ type: 'finish-transition', transition: sm.state().transition ?? 0 }]);
  return sm;
}

function input(over: Partial<PlannerInput> & Pick<PlannerInput, 'state' | 'conf' | 'gossip'>): PlannerInput {
  return { self: 'n1', nowMs: 1000, lastEpochBumpMs: 1000, options, pendingConfChange: false, ...over };
}

/**
 * Runs the leader loop: propose, commit everything at once, alive gainers report stream-done, until the
 * plan is empty. Returns the conf changes made.
 */
function converge(sm: ClusterStateMachine, conf: ConfState, gossip: readonly GossipView[], over: Partial<PlannerInput> = {}) {
  const changes: ConfChange[] = [];
  const isAlive = (id: string): boolean => gossip.some((g) => g.id === id && g.state === 'alive');
  for (let round = 0; round < 100; round++) {
    const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...over }));
    commit(sm, plan.commands);
    if (plan.confChange) {
      changes.push(plan.confChange);
      conf = applyConf(conf, plan.confChange);
    }
    const reported = reportAll(sm, isAlive);
    if (plan.commands.length === 0 && !plan.confChange && !reported) return { conf, changes };
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

t.test('a 4th node joins: add-member (joining), learner at once, finish after its stream-done, voter only when active and the target asks', (t) => {
  const sm = joined(['n1', 'n2', 'n3']);
  let conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  const gossip = ['n1', 'n2', 'n3', 'n4'].map((id) => alive(id));
  let plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, addAll(['n4']));
  t.equal(plan.confChange, undefined, 'not in the Raft config before it is a member');
  commit(sm, plan.commands);
  t.equal(sm.state().members.find((m) => m.id === 'n4')?.status, 'joining');
  t.ok((transitionOf(sm.state()).gained.get('n4')?.length ?? 0) > 0, 'n4 gains partitions');
  t.same([...transitionOf(sm.state()).gained.keys()], ['n4'], 'a join moves slots to the joiner only');
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan, { commands: [], confChange: { type: 'add-learner', node: 'n4' }, notes: [] }, 'a joining member follows the log; no finish before its stream-done');
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip, pendingConfChange: true })).confChange, undefined, 'none while one is pending');
  conf = applyConf(conf, plan.confChange!);
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip, options: { ...options, voterTarget: 5 } })), { commands: [], notes: [] }, 'a joining learner is not promoted');
  commit(sm, [{ type: 'stream-done', id: 'n4', transition: sm.state().transition ?? 0 }]);
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, [{ type: 'finish-transition', transition: sm.state().transition }]);
  commit(sm, plan.commands);
  t.equal(sm.state().members.find((m) => m.id === 'n4')?.status, 'active');
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip })), { commands: [], notes: [] }, '3 voters reach the target of 3');
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip, options: { ...options, voterTarget: 5 } }));
  t.same(plan.confChange, { type: 'add-voter', node: 'n4' }, 'with a target of 5 the learner is promoted');
  t.end();
});

t.test('a second join waits while a transition is in flight, then starts its own', (t) => {
  const sm = joined(['n1', 'n2', 'n3']);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  commit(sm, addAll(['n4']));
  const t4 = sm.state().transition;
  const gossip = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) => alive(id));
  let plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, [], 'n5 is not added while n4 joins');
  t.match(plan.notes, [new RegExp(`n5 waits to join until transition ${t4} finishes`)]);
  reportAll(sm);
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, [{ type: 'finish-transition', transition: t4 }]);
  commit(sm, plan.commands);
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, addAll(['n5']), 'once it finished, n5 joins');
  t.end();
});

t.test('newcomers started together join together: none is added until the leader has known the newest for the grace', (t) => {
  const sm = joined(['n1', 'n2', 'n3']);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  const since = (id: string, sinceMs: number): GossipView => ({ ...alive(id), sinceMs });
  const grace = options.joinGraceMs;
  const plan = (nowMs: number, gossip: GossipView[]) => planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs }));
  const members = ['n1', 'n2', 'n3'].map((id) => alive(id));
  // n4 came up at 10 s, n5 300 ms later: at 11 s n4 has had its grace, but n5 not yet.
  const both = [...members, since('n4', 10_000), since('n5', 10_300)];
  let p = plan(11_000, both);
  t.same(p.commands, [], 'nobody is added while the newest newcomer is within its grace');
  t.match(p.notes, [/n4 waits to join with any other newcomer/, /n5 waits to join with any other newcomer/]);
  p = plan(10_300 + grace, both);
  t.same(p.commands, addAll(['n4', 'n5']), 'then both, in one transition');
  // A newcomer alive for ten graces is added even if others keep arriving.
  const trickle = [...members, since('n4', 0), since('n5', 10 * grace - 1)];
  t.same(plan(10 * grace, trickle).commands, addAll(['n4', 'n5']), 'a trickle of arrivals cannot hold a newcomer back forever');
  // Known since the first sighting: a newcomer that just flapped back to alive does not restart the wait.
  const flapped = [...members, since('n4', 0), { ...since('n5', 10_900), firstSeenMs: 10_000 }];
  t.same(plan(11_000, flapped).commands, addAll(['n4', 'n5']), 'a flap (suspect, then alive again) does not hold the newcomers back');
  // Members already listed are not held back: an address change goes through at once.
  t.same(plan(11_000, [...members.slice(0, 2), { ...alive('n3'), address: 'n3:7001' }, since('n5', 10_900)]).commands, [{ type: 'add-member', id: 'n3', address: 'n3:7001', zone: '' }]);
  t.end();
});

t.test('decommission: the gainers of the leaver’s partitions stream, then it is removed', (t) => {
  const sm = joined(['n1', 'n2', 'n3', 'n4']);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
  const gossip = ['n1', 'n2', 'n3', 'n4'].map((id) => alive(id));
  commit(sm, [{ type: 'set-member-status', id: 'n4', status: 'leaving' }]);
  const gained = transitionOf(sm.state()).gained;
  t.ok(gained.size > 0 && !gained.has('n4'), `the remaining members gain n4's partitions (${[...gained.keys()].join(',')})`);
  const n4Parts = transitionOf(sm.state()).read.partitionsOf('n4');
  t.equal([...gained.values()].reduce((a, l) => a + l.length, 0), n4Parts.length, 'one gainer per partition n4 held');
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip })).commands, [], 'no finish before every gainer reported');
  const [first] = [...gained.keys()];
  reportAll(sm, (id) => id === first);
  if (gained.size > 1) t.same(planLeaderActions(input({ state: sm.state(), conf, gossip })).commands, [], 'one report is not enough');
  reportAll(sm);
  const plan = planLeaderActions(input({ state: sm.state(), conf, gossip }));
  t.same(plan.commands, [{ type: 'finish-transition', transition: sm.state().transition }]);
  commit(sm, plan.commands);
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:active', 'n3:active', 'n4:removed']);
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip })).confChange, { type: 'remove', node: 'n4' }, 'then it leaves the Raft config');
  t.end();
});

t.test('a gainer that dies mid-transition: a joiner is removed, an active gainer set leaving; other dead members wait', (t) => {
  const sm = joined(['n1', 'n2', 'n3']);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [] };
  commit(sm, addAll(['n4', 'n5']));
  const diedAt = 5 * MIN;
  const late = { nowMs: diedAt + 10 * MIN, lastEpochBumpMs: diedAt + 10 * MIN };
  const gossip = [alive('n1'), alive('n2'), gone('n3', 'dead', diedAt), gone('n4', 'dead', diedAt), alive('n5')];
  reportAll(sm, (id) => id === 'n5');
  let plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...late }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n4', status: 'removed' }], 'the dead joiner is removed; n3 (not a gainer) waits');
  t.match(plan.notes, [/n3 is gone; it will be set leaving once transition \d+ finishes/]);
  commit(sm, plan.commands);
  t.same(transitionOf(sm.state()).gained.has('n5'), true, 'n5 still gains: the transition moved on, so it streams again');
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip, ...late })).commands, []);
  reportAll(sm, (id) => id === 'n5');
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...late }));
  t.same(plan.commands, [{ type: 'finish-transition', transition: sm.state().transition }]);
  commit(sm, plan.commands);
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...late }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n3', status: 'leaving' }], 'now the dead n3 leaves');
  commit(sm, plan.commands);
  // n1, n2 and n5 gain n3's partitions; n5 dies before it streamed: as a gainer it is set leaving at once.
  const gossip2 = [alive('n1'), alive('n2'), gone('n3', 'dead', diedAt), gone('n5', 'dead', diedAt + 1)];
  const later = { nowMs: diedAt + 20 * MIN, lastEpochBumpMs: diedAt + 20 * MIN };
  t.ok(transitionOf(sm.state()).gained.has('n5'));
  plan = planLeaderActions(input({ state: sm.state(), conf, gossip: gossip2, ...later }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n5', status: 'leaving' }], 'a dead gainer extends the transition instead of stalling it');
  const { conf: end } = converge(sm, conf, gossip2, later);
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:active', 'n3:removed', 'n4:removed', 'n5:removed']);
  t.same(end.voters, ['n1', 'n2']);
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

t.test('a dead member is set leaving only after the timeout, removed once its partitions streamed, its voter seat refilled', (t) => {
  const sm = joined(['n1', 'n2', 'n3', 'n4']);
  const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
  const diedAt = 5 * MIN;
  const gossip = [alive('n1'), alive('n2'), gone('n3', 'dead', diedAt), alive('n4')];
  const early = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: diedAt + 10 * MIN - 1, lastEpochBumpMs: diedAt + 10 * MIN - 1 }));
  t.same(early, { commands: [], notes: [] }, 'one millisecond before the timeout: nothing');
  const late = { nowMs: diedAt + 10 * MIN, lastEpochBumpMs: diedAt + 10 * MIN };
  const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, ...late }));
  t.same(plan.commands, [{ type: 'set-member-status', id: 'n3', status: 'leaving' }]);
  t.same(plan.confChange, { type: 'remove', node: 'n3' }, 'the dead voter leaves before anyone is promoted');
  const after = converge(sm, conf, gossip, late);
  t.same(after.conf, { voters: ['n1', 'n2', 'n4'], learners: [] });
  t.equal(sm.state().members.find((m) => m.id === 'n3')?.status, 'removed');
  t.end();
});

t.test('left: a stopped member waits for the timeout like a dead one; a leaving one is removed when its transition finishes', (t) => {
  const sm = joined(['n1', 'n2', 'n3']);
  commit(sm, [{ type: 'set-member-status', id: 'n3', status: 'leaving' }]);
  const conf: ConfState = { voters: ['n1'], learners: ['n2', 'n3'] };
  const gossip = [alive('n1'), gone('n2', 'left', 1000), gone('n3', 'left', 1000)];
  // N=3 over 3 members: nobody gains n3's partitions, so the leave finishes without streaming.
  const plan = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: 2000, lastEpochBumpMs: 2000 }));
  t.same(plan.commands, [{ type: 'finish-transition', transition: sm.state().transition }]);
  commit(sm, plan.commands);
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:active', 'n3:removed']);
  t.same(planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: 2000, lastEpochBumpMs: 2000 })).confChange, { type: 'remove', node: 'n3' });
  const later = planLeaderActions(input({ state: sm.state(), conf, gossip, nowMs: 1000 + 10 * MIN, lastEpochBumpMs: 1000 + 10 * MIN }));
  t.same(later.commands, [{ type: 'set-member-status', id: 'n2', status: 'leaving' }], 'after the timeout the stopped n2 leaves too');
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
  const sm = joined(['n1', 'n2', 'n3']);
  commit(sm, [{ type: 'set-member-status', id: 'n1', status: 'leaving' }, { type: 'set-member-status', id: 'n3', status: 'removed' }]);
  const plan = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: ['n2'] }, gossip: [alive('n1'), alive('n2'), alive('n3')] }));
  t.same(plan.commands, [], 'no finish while the leader itself is leaving');
  t.same(plan.confChange, { type: 'add-voter', node: 'n2' }, 'a replacement for the leaving leader is promoted');
  t.match(plan.notes, [/n3 was removed and is alive again/, /the leader is leaving: handing leadership over first/]);
  const plan2 = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1', 'n2'], learners: [] }, gossip: [alive('n1'), alive('n2')] }));
  t.equal(plan2.confChange, undefined, 'the leaving leader is not removed by itself');
  t.match(plan2.notes, [/handing leadership over/, /transfer leadership/]);
  const lone = joined(['n1', 'n2']);
  commit(lone, [{ type: 'set-member-status', id: 'n2', status: 'removed' }]);
  t.equal(planLeaderActions(input({ state: lone.state(), conf: { voters: ['n2'], learners: ['n1'] }, gossip: [alive('n1')] })).confChange?.type, 'add-voter', 'the last voter is not removed, a learner is promoted first');
  t.end();
});

t.test('deterministic: the gossip order does not matter', (t) => {
  const sm = joined(['n1', 'n2']);
  const rng = new Rng(11);
  const gossip = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id, i) => alive(id, `z${i % 2}`));
  const want = planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: [] }, gossip }));
  for (let i = 0; i < 20; i++) {
    t.same(planLeaderActions(input({ state: sm.state(), conf: { voters: ['n1'], learners: [] }, gossip: rng.shuffle([...gossip]) })), want);
  }
  t.end();
});
