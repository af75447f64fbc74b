/**
 * KeyLocks against its promise: a writer proceeds only once it holds every key it asked for, no two
 * writers ever hold one key at once, each key goes to its writers in the order they called acquire(),
 * writers of disjoint keys do not wait for each other, and nothing is left once all have released.
 */
import t from 'tap';
import { KeyLocks } from '../../lsm/index-locks.js';
import { Rng } from './rng.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('random writers over a few keys: exclusive, in call order per key, nothing left behind', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rng = new Rng(seed);
    const locks = new KeyLocks();
    const names = ['a', 'b', 'c', 'd', 'e'];
    const holder = new Map<string, number>();
    const calledOrder = new Map<string, number[]>();
    const heldOrder = new Map<string, number[]>();
    const problems: string[] = [];
    const writers: Promise<void>[] = [];
    for (let w = 0; w < 150; w++) {
      // 1-3 keys, duplicates allowed (a batch may name a key twice).
      const keys = Array.from({ length: 1 + rng.int(3) }, () => names[rng.int(names.length)]!);
      for (const k of new Set(keys)) calledOrder.set(k, [...(calledOrder.get(k) ?? []), w]);
      const hold = rng.int(3);
      writers.push(
        locks.acquire(keys.map((k) => Buffer.from(k))).then(async (release) => {
          for (const k of new Set(keys)) {
            const other = holder.get(k);
            if (other !== undefined) problems.push(`writer ${w} got ${k} while writer ${other} held it`);
            holder.set(k, w);
            heldOrder.set(k, [...(heldOrder.get(k) ?? []), w]);
          }
          for (let i = 0; i < hold; i++) await turn();
          for (const k of new Set(keys)) holder.delete(k);
          release();
          release(); // a second call does nothing
        }),
      );
      if (rng.chance(0.3)) await turn(); // some writers arrive while others hold their keys
    }
    await Promise.all(writers);
    t.same(problems, [], `seed ${seed}: no key held twice at once`);
    t.same(heldOrder, calledOrder, `seed ${seed}: each key is held in acquire() order`);
    t.equal(locks.size, 0, `seed ${seed}: nothing left once every writer released`);
  }
});

t.test('a writer waits only for the keys it asked for', async (t) => {
  const locks = new KeyLocks();
  const releaseA = await locks.acquire([Buffer.from('a')]);
  let gotB = false;
  let gotAB = false;
  const b = locks.acquire([Buffer.from('b')]).then((r) => {
    gotB = true;
    r();
  });
  const ab = locks.acquire([Buffer.from('b'), new Uint8Array([0x61])]).then((r) => {
    gotAB = true;
    r();
  });
  await b;
  await turn();
  t.ok(gotB, 'a writer of another key goes ahead');
  t.notOk(gotAB, 'a writer of a held key (given as a plain Uint8Array) waits, though its other key is free');
  releaseA();
  await ab;
  t.ok(gotAB);
  t.equal(locks.size, 0);
});
