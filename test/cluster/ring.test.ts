import t from 'tap';
import { xxh32 } from '../../cluster/hash.js';
import { Ring, partitionOf, type RingMember } from '../../cluster/ring.js';
import { SimRng } from './sim/rng.js';

const P = 256;
const N = 3;

/** Three naming schemes people actually use, so the quality bounds are not tuned to one set of ids. */
const idSchemes: Record<string, (i: number) => string> = {
  names: (i) => `node${i + 1}`,
  addresses: (i) => `10.0.${i >> 4}.${(i & 15) + 10}:7000`,
  uuids: (i) => `${xxh32(`a${i}`).toString(16).padStart(8, '0')}-4f1c-${xxh32(`b${i}`).toString(16).padStart(8, '0')}`,
};

const members = (ids: readonly string[]): RingMember[] => ids.map((id) => ({ id }));

function loads(ring: Ring): Map<string, number> {
  const load = new Map<string, number>(ring.members.map((id) => [id, 0]));
  for (let p = 0; p < ring.partitions; p++) for (const id of ring.preferenceList(p)) load.set(id, (load.get(id) ?? 0) + 1);
  return load;
}

/** Replica slots whose holder differs between two rings, as (partition, old holder, new holder) triples. */
function moves(before: Ring, after: Ring): { gained: string[]; lost: string[] } {
  const gained: string[] = [];
  const lost: string[] = [];
  for (let p = 0; p < before.partitions; p++) {
    const a = before.preferenceList(p);
    const b = after.preferenceList(p);
    for (const id of b) if (!a.includes(id)) gained.push(id);
    for (const id of a) if (!b.includes(id)) lost.push(id);
  }
  return { gained, lost };
}

t.test('partitionOf: the documented formula, in range, and keys spread evenly over partitions', (t) => {
  t.equal(partitionOf('abc'), Math.floor((0x32d153ff * 256) / 2 ** 32), 'floor(xxh32(key) * P / 2^32)');
  t.equal(partitionOf(Buffer.from('abc')), partitionOf('abc'), 'bytes and strings agree');
  const counts = new Array<number>(P).fill(0);
  const keys = 256_000;
  let inRange = true;
  for (let i = 0; i < keys; i++) {
    const p = partitionOf(`user:${i}`);
    inRange &&= Number.isInteger(p) && p >= 0 && p < P;
    counts[p] = (counts[p] ?? 0) + 1;
  }
  t.ok(inRange, 'every partition number is an integer in [0, P)');
  // 1000 expected per partition, sd ~31.6: ±15% is > 4.5 sd.
  t.ok(Math.max(...counts) < 1150 && Math.min(...counts) > 850, `partition sizes ${Math.min(...counts)}..${Math.max(...counts)}`);
  t.equal(partitionOf('abc', 1), 0, 'P = 1 puts everything in partition 0');
  t.end();
});

t.test('every node computes the same ring from the same members, in any order', (t) => {
  const rng = new SimRng(7);
  const ids = Array.from({ length: 12 }, (_, i) => `node${i}`);
  const zoned = ids.map((id, i) => ({ id, meta: { zone: `z${i % 3}` } }));
  for (const list of [members(ids), zoned]) {
    const ring = new Ring(list);
    for (let trial = 0; trial < 5; trial++) {
      const shuffled = rng.shuffle([...list]);
      const other = new Ring(shuffled);
      let same = true;
      for (let p = 0; p < P; p++) same &&= ring.preferenceList(p).join() === other.preferenceList(p).join();
      t.ok(same, `shuffle ${trial} gives the identical ring`);
    }
  }
  t.throws(() => new Ring(members(['a', 'a'])), /duplicate/, 'a duplicate member is refused');
  t.end();
});

t.test('each preference list holds N distinct nodes (fewer only when the cluster is smaller than N)', (t) => {
  for (const n of [1, 2, 3, 7, 20]) {
    const ring = new Ring(members(Array.from({ length: n }, (_, i) => `n${i}`)));
    let ok = true;
    for (let p = 0; p < P; p++) {
      const list = ring.preferenceList(p);
      ok &&= list.length === Math.min(N, n) && new Set(list).size === list.length;
    }
    t.ok(ok, `n=${n}: lists of ${Math.min(N, n)} distinct nodes`);
  }
  t.same(new Ring([]).preferenceList(0), [], 'an empty cluster owns nothing');
  t.throws(() => new Ring(members(['a'])).preferenceList(P), RangeError);
  t.end();
});

/** The three naming schemes plus `extra` random id sets, seeded so the run is reproducible. */
function schemesWithRandom(seed: number, extra: number): [string, (i: number) => string][] {
  const rng = new SimRng(seed);
  const schemes = Object.entries(idSchemes);
  for (let s = 0; s < extra; s++) {
    const prefix = rng.int(1e9).toString(36);
    schemes.push([`random${s}`, (i) => `${prefix}-${i}`]);
  }
  return schemes;
}

t.test('balance: the most loaded node holds <= 1.3x the mean number of replicas (P=256, 3..20 nodes)', (t) => {
  let worst = 0;
  let worstCase = '';
  let cases = 0;
  for (const [scheme, name] of schemesWithRandom(4, 20)) {
    for (let n = 3; n <= 20; n++) {
      const ring = new Ring(members(Array.from({ length: n }, (_, i) => name(i))));
      const ratio = Math.max(...loads(ring).values()) / ((P * N) / n);
      cases++;
      if (ratio > worst) [worst, worstCase] = [ratio, `${scheme} n=${n}`];
    }
  }
  t.ok(worst <= 1.3, `worst max/mean over ${cases} member sets is ${worst.toFixed(3)} (${worstCase})`);
  t.end();
});

t.test('adding a node moves ~1/(n+1) of the replicas (<= 1.2/(n+1)), all of them to the new node', (t) => {
  // The new node's share is statistical (it depends on how its hashes interleave with the others'), so
  // besides the three naming schemes this runs 20 random id sets: 414 cases of n = 3..20 in all. Measured
  // over ~2,000 cases: about 1 in 250 lands just above 1.2/(n+1) (worst seen 1.23); none near 1.3/(n+1).
  const schemes = schemesWithRandom(5, 20);
  let cases = 0;
  let overBound = 0;
  let worst = 0;
  let onlyToNew = true;
  for (const [, name] of schemes) {
    for (let n = 3; n <= 20; n++) {
      const ids = Array.from({ length: n + 1 }, (_, i) => name(i));
      const { gained } = moves(new Ring(members(ids.slice(0, n))), new Ring(members(ids)));
      const relative = (gained.length / (P * N)) * (n + 1);
      cases++;
      if (relative > 1.2) overBound++;
      worst = Math.max(worst, relative);
      onlyToNew &&= gained.every((id) => id === ids[n]);
    }
  }
  t.ok(onlyToNew, `in all ${cases} cases every moved replica went to the new node`);
  t.ok(overBound <= cases / 100, `${overBound} of ${cases} cases moved more than 1.2/(n+1) (allowed: 1%)`);
  t.ok(worst <= 1.3, `worst case moved ${worst.toFixed(3)}/(n+1) of the replicas`);
  t.end();
});

t.test('removing a node moves only that node replicas', (t) => {
  const rng = new SimRng(3);
  for (const [scheme, name] of Object.entries(idSchemes)) {
    let ok = true;
    for (let n = 4; n <= 20; n++) {
      const ids = Array.from({ length: n }, (_, i) => name(i));
      const gone = ids[rng.int(n)]!;
      const before = new Ring(members(ids));
      const after = new Ring(members(ids.filter((id) => id !== gone)));
      const { lost, gained } = moves(before, after);
      ok &&= lost.every((id) => id === gone) && lost.length === loads(before).get(gone);
      ok &&= gained.length === lost.length && !gained.includes(gone);
    }
    t.ok(ok, `${scheme}: every slot that changed belonged to the removed node`);
  }
  t.end();
});

t.test('zones: preference lists span min(N, zones) zones, and adding/removing stays minimal with zones', (t) => {
  const rng = new SimRng(11);
  for (const zoneCount of [2, 3, 4]) {
    const list = Array.from({ length: 12 }, (_, i) => ({ id: `node${i}`, meta: { zone: `zone-${i % zoneCount}` } }));
    const ring = new Ring(list);
    const zoneOf = new Map(list.map((m) => [m.id, m.meta.zone]));
    let spread = true;
    for (let p = 0; p < P; p++) {
      spread &&= new Set(ring.preferenceList(p).map((id) => zoneOf.get(id))).size === Math.min(N, zoneCount);
    }
    t.ok(spread, `${zoneCount} zones: every partition spans ${Math.min(N, zoneCount)} zones`);
  }
  // Random uneven zone layouts: membership changes still move only to the new node / from the removed one.
  let minimal = true;
  for (let trial = 0; trial < 40; trial++) {
    const n = 3 + rng.int(12);
    const zones = 1 + rng.int(4);
    const list = Array.from({ length: n + 1 }, (_, i) => ({ id: `t${trial}n${i}`, meta: { zone: `z${rng.int(zones)}` } }));
    const before = new Ring(list.slice(0, n));
    const after = new Ring(list);
    const { gained, lost } = moves(before, after);
    minimal &&= gained.every((id) => id === list[n]!.id) && gained.length === lost.length;
  }
  t.ok(minimal, 'with zones, adding a node moves replicas only to it (and removing it moves only its own)');
  t.end();
});
