import t from 'tap';
import { PreferenceLists, targetsFor } from '../../cluster/preference.js';
import { buildRing, type RingMember } from '../../cluster/ring.js';
import { Rng } from '../support/rng.js';

const P = 64;
const members = (n: number, zones = 0): RingMember[] =>
  Array.from({ length: n }, (_, i) => (zones > 0 ? { id: `node${i + 1}`, meta: { zone: `z${i % zones}` } } : { id: `node${i + 1}` }));

t.test('all owners up: the targets are the preference list itself, no hints', (t) => {
  const ring = buildRing(members(5), { partitions: P });
  const lists = new PreferenceLists(ring);
  for (let p = 0; p < P; p++) {
    const out = lists.forPartition(p, () => true);
    t.same(out.targets, ring.preferenceList(p).map((node) => ({ node })));
    t.same(out.uncovered, []);
    t.same(lists.extendedList(p).slice(0, 3), ring.preferenceList(p), 'the owners head the extended list');
  }
  t.same(lists.forKey('user:1', () => true).owners, ring.nodesFor('user:1'));
  t.end();
});

t.test('a down owner is replaced by the next healthy non-owner of the extended list, with a hint', (t) => {
  const ring = buildRing(members(6), { partitions: P });
  const lists = new PreferenceLists(ring);
  const p = 17;
  const owners = ring.preferenceList(p);
  const extended = lists.extendedList(p);
  const down = new Set([owners[1]!, extended[3]!]); // the second owner and the first candidate stand-in
  const out = lists.forPartition(p, (n) => !down.has(n));
  t.same(out.targets, [{ node: owners[0] }, { node: extended[4], hintFor: owners[1] }, { node: owners[2] }]);
  t.end();
});

t.test('many random rings and liveness: stand-ins distinct, never owners, fewer targets only with fewer than N healthy nodes', (t) => {
  const rng = new Rng(3);
  const problems: string[] = [];
  let checked = 0;
  for (let round = 0; round < 60; round++) {
    const n = 1 + rng.int(12);
    const zones = rng.chance(0.3) ? 1 + rng.int(4) : 0;
    const ms = rng.shuffle(members(n, zones));
    const ring = buildRing(ms, { partitions: P, replicas: 1 + rng.int(5) });
    const lists = new PreferenceLists(ring, ms);
    const again = new PreferenceLists(buildRing([...ms].reverse(), { partitions: P, replicas: ring.replicas }), ms);
    for (let trial = 0; trial < 5; trial++) {
      const downP = rng.next() * 0.7;
      const down = new Set(ms.filter(() => rng.chance(downP)).map((m) => m.id));
      const alive = (id: string): boolean => !down.has(id);
      const healthy = n - down.size;
      for (let p = 0; p < P; p++) {
        checked++;
        const out = lists.forPartition(p, alive);
        const owners = ring.preferenceList(p);
        const nodes = out.targets.map((x) => x.node);
        const where = `round ${round} p ${p}`;
        if (new Set(nodes).size !== nodes.length) problems.push(`${where}: duplicate target`);
        for (const x of out.targets) {
          if (x.hintFor === undefined && (!owners.includes(x.node) || down.has(x.node))) problems.push(`${where}: ${x.node} targeted as owner`);
          if (x.hintFor !== undefined && (owners.includes(x.node) || down.has(x.node) || !down.has(x.hintFor))) problems.push(`${where}: bad stand-in ${x.node}`);
        }
        const hintedOwners = out.targets.flatMap((x) => (x.hintFor === undefined ? [] : [x.hintFor]));
        if (new Set([...hintedOwners, ...out.uncovered]).size !== owners.filter((o) => down.has(o)).length) problems.push(`${where}: a down owner neither hinted nor uncovered`);
        if (out.targets.length !== Math.min(owners.length, healthy)) problems.push(`${where}: ${out.targets.length} targets with ${healthy} healthy of N=${owners.length}`);
        if (JSON.stringify(again.forPartition(p, alive)) !== JSON.stringify(out)) problems.push(`${where}: member order changed the result`);
      }
    }
  }
  t.same(problems.slice(0, 5), [], `${checked} partitions checked`);
  t.end();
});

t.test('members must be the ring’s members', (t) => {
  const ring = buildRing(members(3), { partitions: P });
  t.throws(() => new PreferenceLists(ring, members(4)), RangeError);
  t.same(targetsFor(ring, 0, () => false).targets, [], 'nobody healthy: no target');
  t.same(targetsFor(ring, 0, () => false).uncovered, ring.preferenceList(0));
  t.end();
});
