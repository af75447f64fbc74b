/**
 * The planner over many random clusters: running the leader loop (propose, commit, repeat) until the plan
 * is empty always ends in the same kind of configuration — every active, alive member in Raft's config,
 * nobody removed in it, min(voterTarget, active alive) voters spread over as many zones as possible, the
 * leader still a voter, one conf change per round.
 */
import t from 'tap';
import { encodeCommand } from '../../cluster/state/commands.js';
import { ClusterStateMachine } from '../../cluster/state/cluster-state.js';
import { type GossipView, DEFAULT_PLANNER_OPTIONS, planLeaderActions } from '../../cluster/state/planner.js';
import type { ConfState } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';

const NOW = 60 * 60_000;

t.test('random clusters converge to a sound Raft configuration', (t) => {
  let rounds = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const n = 1 + rng.int(9);
    const voterTarget = rng.chance(0.5) ? 3 : 5;
    const options = { ...DEFAULT_PLANNER_OPTIONS, voterTarget };
    const gossip: GossipView[] = Array.from({ length: n }, (_, i) => {
      const id = `n${i}`;
      const r = i === 0 ? 0 : rng.int(10); // n0 is the leader, alive
      const state = r < 6 ? 'alive' : r < 7 ? 'suspect' : r < 9 ? 'dead' : 'left';
      const sinceMs = rng.chance(0.5) ? 0 : NOW - 1000; // dead long ago, or just now
      return { id, address: `${id}:1`, zone: `z${rng.int(3)}`, state, sinceMs };
    });
    const sm = new ClusterStateMachine();
    let conf: ConfState = { voters: ['n0'], learners: [] };
    const commit = (c: Parameters<typeof encodeCommand>[0]): void => {
      sm.apply({ index: sm.state().appliedIndex + 1, term: 1, type: 'normal', data: encodeCommand(c) });
    };
    // Some members were committed earlier (while alive), some of them since marked leaving.
    for (const g of gossip) if (g.id === 'n0' || rng.chance(0.5)) commit({ type: 'add-member', id: g.id, address: g.address, zone: g.zone });
    const leaving = new Set<string>();
    for (const m of sm.state().members) {
      if (m.id === 'n0' || !rng.chance(0.15)) continue;
      commit({ type: 'set-member-status', id: m.id, status: 'leaving' });
      leaving.add(m.id);
    }
    let converged = false;
    for (let round = 0; round < 200 && !converged; round++) {
      rounds++;
      const plan = planLeaderActions({ self: 'n0', state: sm.state(), conf, gossip, nowMs: NOW, lastEpochBumpMs: NOW, options, pendingConfChange: false });
      plan.commands.forEach(commit);
      const cc = plan.confChange;
      if (cc) {
        if (cc.node === 'n0' && cc.type === 'remove') t.fail(`seed ${seed}: the leader removes itself`);
        if (cc.type === 'remove' && conf.voters.length === 1 && conf.voters[0] === cc.node) t.fail(`seed ${seed}: last voter removed`);
        const voters = conf.voters.filter((v) => v !== cc.node);
        const learners = conf.learners.filter((v) => v !== cc.node);
        if (cc.type === 'add-voter') voters.push(cc.node);
        if (cc.type === 'add-learner') learners.push(cc.node);
        conf = { voters, learners };
      }
      converged = plan.commands.length === 0 && cc === undefined;
    }
    if (!converged) {
      t.fail(`seed ${seed}: no convergence`);
      continue;
    }
    const g = new Map(gossip.map((x) => [x.id, x]));
    const st = new Map(sm.state().members.map((m) => [m.id, m]));
    const activeAlive = sm.state().members.filter((m) => m.status === 'active' && g.get(m.id)?.state === 'alive');
    const inConf = new Set([...conf.voters, ...conf.learners]);
    const problems: string[] = [];
    for (const m of activeAlive) if (!inConf.has(m.id)) problems.push(`${m.id} active and alive but not in the config`);
    for (const id of inConf) if (st.get(id)?.status === 'removed') problems.push(`${id} removed but in the config`);
    if (!conf.voters.includes('n0')) problems.push('the leader is not a voter');
    const useful = conf.voters.filter((v) => st.get(v)?.status === 'active');
    if (useful.length !== Math.min(voterTarget, activeAlive.length)) problems.push(`${useful.length} useful voters, want ${Math.min(voterTarget, activeAlive.length)}`);
    const zones = new Set(activeAlive.map((m) => m.zone)).size;
    const voterZones = new Set(useful.map((v) => st.get(v)!.zone)).size;
    if (voterZones !== Math.min(useful.length, zones)) problems.push(`voters cover ${voterZones} zones of ${zones}`);
    for (const m of sm.state().members) {
      const gv = g.get(m.id)!;
      // Dead or left for longer than the timeout; or decommissioned and gone (its 'left' ends the drain).
      const longGone = ((gv.state === 'dead' || gv.state === 'left') && gv.sinceMs === 0) || (leaving.has(m.id) && gv.state === 'left');
      if (longGone !== (m.status === 'removed')) problems.push(`${m.id} is ${m.status} while ${gv.state} since ${gv.sinceMs}`);
    }
    if (problems.length > 0) t.fail(`seed ${seed}: ${problems.join('; ')} — conf ${JSON.stringify(conf)}`);
  }
  t.comment(`${rounds} planner rounds`);
  t.pass('300 random clusters checked');
  t.end();
});
