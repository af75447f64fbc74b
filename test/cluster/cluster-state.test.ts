import t from 'tap';
import { type ClusterCommand, encodeCommand } from '../../cluster/state/commands.js';
import { ClusterStateMachine, DEFAULT_CLUSTER_CONFIG, describeState, ringOf } from '../../cluster/state/cluster-state.js';
import { ClusterSnapshotError } from '../../cluster/state/errors.js';
import type { Entry } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';

function entries(commands: readonly (ClusterCommand | 'noop' | 'conf')[], from = 1): Entry[] {
  return commands.map((c, i) => ({
    index: from + i,
    term: 1,
    type: c === 'conf' ? 'conf' : 'normal',
    data: c === 'noop' ? new Uint8Array(0) : c === 'conf' ? Uint8Array.of(1, 2, 3) : encodeCommand(c),
  }));
}

function run(list: readonly Entry[]): ClusterStateMachine {
  const sm = new ClusterStateMachine();
  for (const e of list) sm.apply(e);
  return sm;
}

const add = (id: string, zone = '', address = `${id}.host:7000`): ClusterCommand => ({ type: 'add-member', id, address, zone });
const status = (id: string, s: 'leaving' | 'removed'): ClusterCommand => ({ type: 'set-member-status', id, status: s });
const bump = (to: number): ClusterCommand => ({ type: 'increment-epoch', to });
const done = (id: string, transition: number): ClusterCommand => ({ type: 'stream-done', id, transition });
const finish = (transition: number): ClusterCommand => ({ type: 'finish-transition', transition });

/** A random but plausible command stream: joins, re-joins on new addresses, status changes, bumps (some stale), configs. */
function randomCommands(rng: Rng, n: number): ClusterCommand[] {
  const out: ClusterCommand[] = [];
  let epochGuess = 1;
  for (let i = 0; i < n; i++) {
    const id = `n${rng.int(12)}`;
    const r = rng.int(10);
    if (r < 4) out.push(add(id, `z${rng.int(3)}`, `${id}.host:${7000 + rng.int(3)}`));
    else if (r < 5) out.push(status(id, rng.chance(0.5) ? 'leaving' : 'removed'));
    else if (r < 7) out.push(bump(rng.chance(0.8) ? ++epochGuess : Math.max(1, epochGuess - rng.int(3))));
    else if (r < 8) out.push(done(id, 1 + rng.int(12)));
    else if (r < 9) out.push(finish(1 + rng.int(12)));
    else out.push({ type: 'set-config', config: { partitions: rng.chance(0.7) ? 64 : 32, replicas: 3, readQuorum: 1 + rng.int(3), writeQuorum: 2 } });
  }
  return out;
}

t.test('the first add-member creates the cluster at epoch 1; no-op and conf entries only move appliedIndex', (t) => {
  const sm = new ClusterStateMachine();
  t.same(sm.state(), { epoch: 0, config: DEFAULT_CLUSTER_CONFIG, members: [], appliedIndex: 0, created: false, transition: 0 });
  const [noop, conf, first, second] = entries(['noop', 'conf', add('n2', 'a'), add('n1', 'b')]);
  t.same(sm.apply(noop!), { index: 1, applied: false, ringChanged: false });
  t.same(sm.apply(conf!), { index: 2, applied: false, ringChanged: false });
  t.equal(sm.state().appliedIndex, 2);
  t.equal(sm.state().created, false);
  t.match(sm.apply({ index: 3, term: 1, type: 'normal', data: encodeCommand(bump(1)) }), {
    applied: false,
    reason: /not created/,
  });
  t.match(sm.apply({ ...first!, index: 4 }), { applied: true, ringChanged: true });
  t.match(sm.apply({ ...second!, index: 5 }), { applied: true, ringChanged: true });
  const s = sm.state();
  t.equal(s.created, true);
  t.equal(s.epoch, 1);
  t.same(s.members.map((m) => [m.id, m.status, m.joinedEpoch]), [['n1', 'joining', 1], ['n2', 'active', 1]], 'sorted by id; the first member is active, the next one joining');
  t.equal(s.transition, 1, 'a joining member starts a transition');
  t.same(sm.ring().members, ['n2'], 'the read ring holds the active member only');
  t.match(describeState(s), /^epoch 1, 2 members \(n1 joining, n2\), P=256 N=3 R=2 W=2, transition 1, applied 5$/);
  t.end();
});

t.test('a join: the joiner gains partitions, finish-transition waits for its stream-done of the current transition', (t) => {
  const sm = run(entries([add('n1'), add('n2'), add('n3')]));
  const next = (c: ClusterCommand): ReturnType<ClusterStateMachine['apply']> =>
    sm.apply({ index: sm.state().appliedIndex + 1, term: 1, type: 'normal', data: encodeCommand(c) });
  t.equal(sm.state().transition, 2, 'n2 then n3 joining: the set changed twice');
  t.match(next(finish(2)), { applied: false, reason: /n2, n3 have not streamed/ });
  t.match(next(done('n2', 1)), { applied: false, reason: /transition 1 is not the current one \(2\)/ });
  t.match(next(done('n2', 2)), { applied: true, ringChanged: false });
  t.match(next(finish(2)), { applied: false, reason: /n3 have not streamed/ });
  t.match(next(done('n9', 2)), { applied: false, reason: /no member n9/ });
  t.match(next(done('n3', 2)), { applied: true });
  t.match(next(finish(1)), { applied: false, reason: /not the current one/ });
  t.match(next(finish(2)), { applied: true, ringChanged: true });
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:active', 'n3:active']);
  t.equal(sm.state().transition, 3);
  t.same(sm.ring().members, ['n1', 'n2', 'n3']);
  t.match(next(finish(3)), { applied: false, reason: /no member is joining or leaving/ });
  t.end();
});

t.test('a leave: leaving stays in the read ring; a joiner cannot leave; the last writer cannot leave', (t) => {
  const sm = run(entries([add('n1'), add('n2'), done('n2', 1), finish(1)]));
  const next = (c: ClusterCommand): ReturnType<ClusterStateMachine['apply']> =>
    sm.apply({ index: sm.state().appliedIndex + 1, term: 1, type: 'normal', data: encodeCommand(c) });
  t.match(next(status('n2', 'leaving')), { applied: true, ringChanged: true });
  t.equal(sm.state().transition, 3);
  t.same(sm.ring().members, ['n1', 'n2'], 'a leaving member is still read from');
  t.match(next(status('n1', 'leaving')), { applied: false, reason: /last member/ }, 'no writer would be left');
  // With N=3 and two members, n1 already owns everything: nobody gains, the transition can finish at once.
  t.match(next(finish(3)), { applied: true });
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:removed']);
  t.match(next(add('n3')), { applied: true });
  t.match(next(status('n3', 'leaving')), { applied: false, reason: /joining: it holds no data/ });
  t.match(next(status('n3', 'removed')), { applied: true }, 'a joiner may be removed outright');
  t.same(sm.state().members.map((m) => `${m.id}:${m.status}`), ['n1:active', 'n2:removed', 'n3:removed']);
  t.equal(sm.state().transition, 6, 'removing the joiner ended the transition it started');
  t.end();
});

t.test('the epoch only ever moves to epoch + 1: concurrent and stale bumps neither skip nor repeat', (t) => {
  const sm = run(entries([add('n1')]));
  const seen: number[] = [];
  // The same leader proposed two bumps to 2 back to back, then a stale 1, a jump to 4, then 3.
  for (const [i, c] of [bump(2), bump(2), bump(1), bump(4), bump(3)].entries()) {
    const r = sm.apply({ index: 2 + i, term: 1, type: 'normal', data: encodeCommand(c) });
    if (!r.applied) t.match(r.reason, /does not follow/);
    seen.push(sm.state().epoch);
  }
  t.same(seen, [2, 2, 2, 2, 3]);
  const rng = new Rng(7);
  const m = run(entries([add('n1'), ...randomCommands(rng, 400)]));
  t.ok(m.state().epoch > 10, 'random streams still advance');
  t.end();
});

t.test('a member re-announcing a new address keeps its joinedEpoch; removed members stay listed, out of the ring, and cannot return', (t) => {
  const sm = run(
    entries([add('n1'), add('n2'), done('n2', 1), finish(1), bump(2), bump(3), add('n3'), add('n2', '', 'n2.host:9999'), done('n3', 3), finish(3), status('n3', 'leaving')]),
  );
  let s = sm.state();
  t.same(s.members.find((m) => m.id === 'n2'), { id: 'n2', address: 'n2.host:9999', zone: '', status: 'active', joinedEpoch: 1, streamedTransition: 1 });
  t.equal(s.members.find((m) => m.id === 'n3')?.joinedEpoch, 3);
  t.same(sm.ring().members, ['n1', 'n2', 'n3'], 'a leaving member stays in the ring until removed');
  const next = (c: ClusterCommand): ReturnType<ClusterStateMachine['apply']> =>
    sm.apply({ index: sm.state().appliedIndex + 1, term: 2, type: 'normal', data: encodeCommand(c) });
  t.match(next(status('n3', 'removed')), { applied: true, ringChanged: true });
  t.same(sm.ring().members, ['n1', 'n2']);
  t.match(next(add('n3', '', 'n3.host:1')), { applied: false, reason: /removed id cannot rejoin/ });
  t.match(next(status('n3', 'leaving')), { applied: false, reason: /already removed/ });
  t.match(next(status('n9', 'leaving')), { applied: false, reason: /no member n9/ });
  t.match(next(status('n1', 'removed')), { applied: true });
  t.match(next(status('n2', 'removed')), { applied: false, reason: /last member/ });
  s = sm.state();
  t.same(s.members.map((m) => `${m.id}:${m.status}`), ['n1:removed', 'n2:active', 'n3:removed']);
  t.same(sm.ring().members, ['n2']);
  t.end();
});

t.test('set-config: validated, P fixed after creation, rejected deterministically without throwing', (t) => {
  const cfg = (partitions: number, replicas = 3, readQuorum = 2, writeQuorum = 2): ClusterCommand => ({
    type: 'set-config',
    config: { partitions, replicas, readQuorum, writeQuorum },
  });
  const sm = run(entries([cfg(64, 2, 1, 2), add('n1'), add('n2'), add('n3'), done('n2', 2), done('n3', 2), finish(2)]));
  t.same(sm.state().config, { partitions: 64, replicas: 2, readQuorum: 1, writeQuorum: 2 }, 'P chosen before creation');
  t.equal(sm.ring().partitions, 64);
  t.equal(sm.ring().preferenceList(0).length, 2);
  const r = sm.apply({ index: 8, term: 1, type: 'normal', data: encodeCommand(cfg(128)) });
  t.match(r, { applied: false, reason: /partitions are fixed/ });
  t.match(sm.apply({ index: 9, term: 1, type: 'normal', data: encodeCommand(cfg(64, 3, 2, 2)) }), { applied: true, ringChanged: true });
  t.equal(sm.ring().preferenceList(0).length, 3);
  t.match(sm.apply({ index: 10, term: 1, type: 'normal', data: Uint8Array.of(0xff, 0xff) }), { applied: false, reason: /undecodable/ });
  t.equal(sm.state().appliedIndex, 10);
  t.end();
});

t.test('determinism: same entries → byte-identical snapshots and equal rings; restore + the rest = everything', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Rng(seed);
    const list = entries([add('n0', 'z0'), ...randomCommands(rng, 150)].flatMap((c) => (rng.chance(0.1) ? ['noop' as const, c] : [c])));
    const a = run(list);
    const b = run(list);
    t.same(Buffer.from(a.snapshot()), Buffer.from(b.snapshot()), `seed ${seed}: identical snapshots`);
    t.same(a.ring().members, b.ring().members);
    for (let p = 0; p < a.ring().partitions; p++) {
      if (a.ring().preferenceList(p).join() !== b.ring().preferenceList(p).join()) t.fail(`seed ${seed}: partition ${p} differs`);
    }
    const cut = 1 + rng.int(list.length - 1);
    const head = run(list.slice(0, cut));
    const restored = ClusterStateMachine.restore(head.snapshot(), cut);
    for (const e of list.slice(cut)) restored.apply(e);
    t.same(Buffer.from(restored.snapshot()), Buffer.from(a.snapshot()), `seed ${seed}: restore at ${cut} then the rest`);
    t.same(restored.state(), a.state());
    const fromState = ringOf(restored.state());
    t.ok(
      Array.from({ length: fromState.partitions }, (_, p) => p).every((p) => fromState.preferenceList(p).join() === a.ring().preferenceList(p).join()),
      `seed ${seed}: the ring computed from the restored state is the same ring`,
    );
  }
  t.end();
});

t.test('apply tolerates a replay but refuses a gap; restore refuses bad snapshots with CLUSTER_BAD_SNAPSHOT', (t) => {
  const list = entries([add('n1'), bump(2)]);
  const sm = run(list);
  t.match(sm.apply(list[0]!), { applied: false, reason: /already applied/ });
  t.equal(sm.state().epoch, 2);
  t.throws(() => sm.apply({ index: 9, term: 1, type: 'normal', data: new Uint8Array(0) }), RangeError);
  const snap = Buffer.from(sm.snapshot());
  t.throws(() => ClusterStateMachine.restore(snap, 3), ClusterSnapshotError, 'index mismatch');
  const badMagic = Buffer.from(snap);
  badMagic[0] = 0;
  t.throws(() => ClusterStateMachine.restore(badMagic, 2), { code: 'CLUSTER_BAD_SNAPSHOT' });
  const rng = new Rng(3);
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(snap);
    for (let k = 1 + rng.int(3); k > 0; k--) b[4 + rng.int(b.length - 4)] = rng.int(256);
    try {
      ClusterStateMachine.restore(rng.chance(0.3) ? b.subarray(0, rng.int(b.length)) : b, 2);
    } catch (err) {
      if (!(err instanceof ClusterSnapshotError)) t.fail(`untyped error: ${String(err)}`);
    }
  }
  t.end();
});
