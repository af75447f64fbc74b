/**
 * Membership changes in a simulated cluster: partitions that heal, graceful leave, restart with a higher
 * incarnation, refutation of a wrong suspicion, indirect probes around a broken link — and that a seed
 * replays a run exactly.
 */
import t from 'tap';
import { allSee, allSeeAlive, bootCluster, viewsConverged } from './sim/cluster-helpers.js';
import { Ring } from '../../cluster/ring.js';
import { Simulation } from './sim/simulation.js';

const NODES = 50;

/** Runs a mixed scenario (loss, crash, partition, restart, leave) and returns the run's event hash. */
function scenario(seed: number): { hash: number; delivered: number } {
  const { sim, ids } = bootCluster(20, { seed, dropRate: 0.02 });
  sim.runFor(10_000);
  sim.crash(ids[4]!);
  sim.network.partition([ids.slice(0, 10)]);
  sim.runFor(30_000);
  sim.network.heal();
  sim.start(ids[4]!, [sim.address(ids[0]!)]);
  sim.leave(ids[9]!);
  sim.runFor(30_000);
  return { hash: sim.hash, delivered: sim.delivered };
}

t.test('the same seed replays the same run exactly; another seed does not', (t) => {
  const a = scenario(42);
  const b = scenario(42);
  const c = scenario(43);
  t.ok(a.delivered > 1000, `the scenario delivered ${a.delivered} messages`);
  t.equal(b.hash, a.hash, `same seed, same event-log hash ${a.hash.toString(16)}`);
  t.equal(b.delivered, a.delivered);
  t.not(c.hash, a.hash, 'a different seed gives a different run');
  t.end();
});

t.test('after a partition heals, all views converge', (t) => {
  for (const seed of [1, 2]) {
    const { sim, ids } = bootCluster(NODES, { seed, dropRate: 0.01 });
    const left = ids.slice(0, 20);
    const right = ids.slice(20);
    sim.network.partition([left]);
    sim.runFor(60_000);
    const split = left.every((a) => right.every((b) => sim.view(a, b)?.state === 'dead' && sim.view(b, a)?.state === 'dead'));
    t.ok(split, `seed ${seed}: during a 60 s partition each side declares the other dead`);
    sim.network.heal();
    const healedAt = sim.now;
    sim.runFor(120_000, () => viewsConverged(sim));
    t.ok(viewsConverged(sim), `seed ${seed}: all 50 views identical and all alive ${((sim.now - healedAt) / 1000).toFixed(1)} s after the heal`);
    t.ok(sim.now - healedAt <= 60_000, 'within 60 s (reconnect attempts every 10 s per node, then gossip)');
  }
  t.end();
});

t.test('a graceful leave is seen as LEFT everywhere, never as a failure', (t) => {
  const { sim, ids } = bootCluster(NODES, { seed: 5 });
  const leaver = ids[13]!;
  const seenAsFailed: string[] = [];
  sim.onEvent(({ observer, event }) => {
    if (event.member.id === leaver && (event.member.state === 'suspect' || event.member.state === 'dead')) seenAsFailed.push(observer);
  });
  const at = sim.now;
  sim.leave(leaver);
  sim.runFor(30_000, () => !sim.isRunning(leaver) && allSee(sim, leaver, 'left'));
  t.ok(allSee(sim, leaver, 'left'), `all ${sim.runningIds().length} others see ${leaver} LEFT after ${((sim.now - at) / 1000).toFixed(1)} s`);
  sim.runFor(60_000);
  t.ok(allSee(sim, leaver, 'left'), 'and still LEFT a minute later (not turned into dead by probes)');
  t.same(seenAsFailed, [], 'nobody suspected or declared it dead');
  t.end();
});

t.test('a restarted node (same id and address) is alive again everywhere with a higher incarnation', (t) => {
  for (const seed of [6, 7]) {
    const { sim, ids } = bootCluster(NODES, { seed, dropRate: 0.02 });
    const node = ids[21]!;
    const before = sim.running(node).self.incarnation;
    sim.crash(node);
    sim.runFor(60_000, () => allSee(sim, node, 'dead'));
    t.ok(allSee(sim, node, 'dead'), `seed ${seed}: ${node} dead everywhere after the crash`);
    sim.runFor(5_000);
    sim.start(node, [sim.address(ids[0]!)]);
    const restartedAt = sim.now;
    sim.runFor(60_000, () => allSeeAlive(sim, ids));
    const incarnations = new Set(sim.runningIds().map((o) => sim.view(o, node)?.incarnation));
    t.ok(allSeeAlive(sim, ids), `seed ${seed}: alive everywhere ${((sim.now - restartedAt) / 1000).toFixed(1)} s after the restart`);
    t.equal(incarnations.size, 1, 'everyone holds the same incarnation for it');
    const [inc] = [...incarnations];
    t.ok(inc !== undefined && inc > before, `incarnation ${inc} > ${before} of its previous life`);
    t.ok(viewsConverged(sim), 'and the restarted node sees the whole cluster too');
  }
  t.end();
});

t.test('a restarted node whose clock went back learns its old incarnation from peers and out-bids it', (t) => {
  const { sim, ids } = bootCluster(NODES, { seed: 12 });
  const node = ids[33]!;
  // Its previous life refuted a few suspicions, so peers know it at a higher incarnation than it restarts with.
  sim.running(node).receive(sim.address(ids[0]!), { type: 'gossip', from: ids[0]!, updates: [{ ...sim.running(node).self, state: 'suspect', incarnation: 7 }] }, sim.now);
  sim.runFor(10_000);
  const old = sim.view(ids[0]!, node)?.incarnation ?? 0;
  t.ok(old >= 8, `peers know ${node} at incarnation ${old}`);
  sim.crash(node);
  sim.runFor(1_000);
  sim.start(node, [sim.address(ids[0]!)], {}, 0);
  sim.runFor(30_000, () => allSeeAlive(sim, ids) && sim.runningIds().every((o) => (sim.view(o, node)?.incarnation ?? 0) > old));
  const now = sim.running(node).self.incarnation;
  t.ok(now > old, `restarted at incarnation 0, it refuted its way to ${now} > ${old}`);
  t.ok(sim.runningIds().every((o) => sim.view(o, node)?.incarnation === now), 'everyone holds its new incarnation');
  t.ok(allSeeAlive(sim, ids), 'and sees it alive');
  t.end();
});

t.test('a node started before its seed joins as soon as the seed comes up', (t) => {
  const sim = new Simulation({ seed: 13 });
  sim.start('early', ['seed:7000']);
  sim.runFor(5_000);
  t.equal(sim.running('early').members().length, 1, 'alone while the seed is down');
  sim.start('seed');
  const seedAt = sim.now;
  sim.runFor(10_000, () => allSeeAlive(sim, ['early', 'seed']));
  t.ok(allSeeAlive(sim, ['early', 'seed']), `both see each other alive ${((sim.now - seedAt) / 1000).toFixed(1)} s after the seed started`);
  t.ok(sim.now - seedAt <= 2_000, 'within two probe intervals (join is retried every interval while alone)');
  t.end();
});

t.test('metadata changes (zone, status) reach every member; every node then computes the same ring', (t) => {
  const { sim, ids } = bootCluster(20, { seed: 14, dropRate: 0.02 });
  const before = sim.now;
  ids.forEach((id, i) => sim.setMeta(id, { zone: `zone-${i % 3}`, status: 'serving' }));
  const zoned = (): boolean => sim.runningIds().every((o) => ids.every((m) => sim.view(o, m)?.meta.zone !== undefined));
  sim.runFor(60_000, zoned);
  t.ok(zoned(), `every node learned every zone ${((sim.now - before) / 1000).toFixed(1)} s after the change`);
  const rings = sim.runningIds().map((o) => {
    const ring = new Ring(sim.running(o).liveMembers());
    return Array.from({ length: ring.partitions }, (_, p) => ring.preferenceList(p).join(',')).join(';');
  });
  t.equal(new Set(rings).size, 1, 'all 20 nodes compute the identical ring from their own gossip view');
  const zoneOf = new Map(ids.map((id, i) => [id, `zone-${i % 3}`]));
  const first = new Ring(sim.running(ids[0]!).liveMembers());
  let spread = true;
  for (let p = 0; p < first.partitions; p++) spread &&= new Set(first.preferenceList(p).map((id) => zoneOf.get(id))).size === 3;
  t.ok(spread, 'and every partition has one replica in each of the 3 zones');
  t.end();
});

/** Isolates `victim` for `ms`, then heals; returns every state others gave it meanwhile and after. */
function isolate(sim: Simulation, victim: string, ms: number): Set<string> {
  const states = new Set<string>();
  sim.onEvent(({ observer, event }) => {
    if (event.member.id === victim && observer !== victim) states.add(event.member.state);
  });
  sim.network.partition([[victim]]);
  sim.runFor(ms);
  sim.network.heal();
  return states;
}

t.test('a suspected live node refutes the suspicion and is never declared dead', (t) => {
  for (const seed of [8, 9]) {
    const { sim, ids } = bootCluster(NODES, { seed });
    const victim = ids[30]!;
    const before = sim.running(victim).self.incarnation;
    const states = isolate(sim, victim, 2_500);
    sim.runFor(30_000, () => allSeeAlive(sim, ids) && sim.running(victim).self.incarnation > before);
    t.ok(states.has('suspect'), `seed ${seed}: a 2.5 s network outage made others suspect ${victim}`);
    t.notOk(states.has('dead'), 'nobody declared it dead');
    const after = sim.running(victim).self.incarnation;
    t.ok(after > before, `it refuted with incarnation ${after} > ${before}`);
    t.ok(allSeeAlive(sim, ids), 'and everyone sees it alive again');
  }
  t.end();
});

t.test('a broken link between two nodes does not make either suspect the other (indirect probes)', (t) => {
  const { sim, ids } = bootCluster(10, { seed: 10 });
  const [a, b] = [ids[1]!, ids[2]!];
  const suspicions: string[] = [];
  sim.onEvent(({ observer, event }) => {
    if (event.member.state !== 'alive') suspicions.push(`${observer} -> ${event.member.id} ${event.member.state}`);
  });
  sim.network.cutLink(a, b);
  sim.runFor(5 * 60_000);
  t.same(suspicions, [], `over 5 min with ${a}<->${b} cut, nobody suspected anybody`);
  t.end();
});
