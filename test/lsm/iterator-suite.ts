/**
 * The shared InternalIterator conformance suite (DESIGN.md convention 6). Every iterator of the engine
 * (block, table, memtable, merging, DB) runs it: the suite generates sorted data sets, asks `build` for
 * an iterator over each, and checks every movement against a sorted-array model.
 *
 * Usage:
 *   iteratorSuite(t, 'block', (entries) => blockIteratorOver(entries));
 *   iteratorSuite(t, 'memtable', build, internalComparator, { mapKey: (k) => internalKey(k, 1, Put) });
 *
 * `mapKey` turns the suite's generated keys into keys of the comparator's space (it must preserve
 * distinctness); probes for seek() are mapped the same way and the expected position is computed with
 * the comparator, so the suite works for any ordering.
 */
import type t from 'tap';
import { bytewiseComparator, type Comparator } from '../../lsm/comparator.js';
import type { InternalIterator } from '../../lsm/iterator.js';
import { Rng } from '../support/rng.js';

export type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

export interface Entry {
  key: Buffer;
  value: Buffer;
}

export type BuildIterator = (sorted: readonly Entry[]) => InternalIterator | Promise<InternalIterator>;

export interface IteratorSuiteOptions {
  mapKey?: (key: Buffer) => Buffer;
  /** Seed of the random data sets and walks (default 1). */
  seed?: number;
  /** Scales the big data sets down for slow iterators (default 1). */
  scale?: number;
}

export { Rng };

interface DataSet {
  name: string;
  keys: Buffer[];
  valueOf: (i: number, rng: Rng) => Buffer;
}

function dataSets(rng: Rng, scale: number): DataSet[] {
  const small = (i: number): Buffer => Buffer.from(`v${i}`);
  const many = Math.max(10, Math.round(1500 * scale));
  const prefixed: Buffer[] = [];
  for (let u = 0; prefixed.length < many; u++) {
    for (let f = 0; f < 7; f++) prefixed.push(Buffer.from(`user:${String(u * 37).padStart(6, '0')}:field${f}`));
  }
  const random: Buffer[] = [];
  for (let i = 0; i < many; i++) random.push(rng.bytes(rng.int(24)));
  random.push(Buffer.alloc(0), Buffer.from([0]), Buffer.from([0xff, 0xff]));
  const long: Buffer[] = [];
  for (let i = 0; i < Math.max(5, Math.round(120 * scale)); i++) {
    long.push(Buffer.concat([Buffer.alloc(200 + rng.int(300), 'k'), Buffer.from(String(i))]));
  }
  return [
    { name: 'single entry', keys: [Buffer.from('only')], valueOf: small },
    { name: 'single empty key', keys: [Buffer.alloc(0)], valueOf: () => Buffer.alloc(0) },
    {
      name: 'nested prefixes',
      keys: ['a', 'aa', 'aaa', 'aab', 'ab', 'b', 'ba', 'bb', 'c'].map((s) => Buffer.from(s)),
      valueOf: small,
    },
    { name: 'many keys sharing prefixes', keys: prefixed, valueOf: small },
    { name: 'random binary keys and values', keys: random, valueOf: (_i, r) => r.bytes(r.int(r.int(10) === 0 ? 3000 : 60)) },
    { name: 'long keys and values (multi-byte varints)', keys: long, valueOf: (_i, r) => r.bytes(150 + r.int(400)) },
  ];
}

/** Runs the conformance suite as subtests of `t`. */
export function iteratorSuite(
  t: Tap,
  name: string,
  build: BuildIterator,
  comparator: Comparator = bytewiseComparator,
  options: IteratorSuiteOptions = {},
): void {
  const mapKey = options.mapKey ?? ((k: Buffer) => k);
  const rng = new Rng(options.seed ?? 1);
  const cmp = (a: Uint8Array, b: Uint8Array): number => comparator.compare(a, b);

  t.test(`${name}: empty`, async (t) => {
    const it = await build([]);
    it.seekToFirst();
    t.notOk(it.valid(), 'seekToFirst on empty');
    it.seekToLast();
    t.notOk(it.valid(), 'seekToLast on empty');
    it.seek(mapKey(Buffer.from('x')));
    t.notOk(it.valid(), 'seek on empty');
    it.seek(mapKey(Buffer.alloc(0)));
    t.notOk(it.valid(), 'seek to the smallest key on empty');
  });

  for (const ds of dataSets(rng, options.scale ?? 1)) {
    const seen = new Set<string>();
    const entries: Entry[] = [];
    ds.keys.forEach((raw, i) => {
      const key = mapKey(raw);
      const hex = key.toString('hex');
      if (seen.has(hex)) return;
      seen.add(hex);
      entries.push({ key, value: ds.valueOf(i, rng) });
    });
    entries.sort((a, b) => cmp(a.key, b.key));
    const probes = makeProbes(entries, rng).map(mapKey);
    const walkSeed = rng.int(2 ** 31);

    t.test(`${name}: ${ds.name} (${entries.length})`, async (t) => {
      const it = await build(entries);
      const check = new Checker(entries);
      const n = entries.length;

      // Forward and backward scans.
      let i = 0;
      for (it.seekToFirst(); it.valid() && i <= n; it.next()) check.at(it, i++, 'forward scan');
      check.at(it, n, 'end of forward scan');
      i = n - 1;
      for (it.seekToLast(); it.valid() && i >= -1; it.prev()) check.at(it, i--, 'backward scan');
      check.at(it, -1, 'end of backward scan');

      // Stepping off either end.
      it.seekToFirst();
      it.prev();
      check.at(it, -1, 'prev() from the first entry');
      it.seekToLast();
      it.next();
      check.at(it, n, 'next() from the last entry');

      // Seeks to existing keys, to keys between them, before the first and after the last; then one
      // step either way from the found position.
      for (const p of probes) {
        const want = lowerBound(entries, p, cmp);
        const what = `seek(${short(p)})`;
        it.seek(p);
        check.at(it, want, what);
        if (!it.valid()) continue;
        it.next();
        check.at(it, want + 1, `${what} then next()`);
        it.seek(p);
        it.prev();
        check.at(it, want - 1, `${what} then prev()`);
      }

      // Alternating directions: next, prev, next, next, prev, ... through the whole range and back.
      it.seekToFirst();
      let pos = 0;
      const pattern = [1, -1, 1, 1, -1, 1];
      for (let step = 0; it.valid() && step < 4 * n + 10; step++) {
        const d = pattern[step % pattern.length]!;
        if (d > 0) it.next();
        else it.prev();
        pos += d;
        check.at(it, pos, `alternating walk step ${step}`);
      }
      it.seekToLast();
      pos = n - 1;
      for (let step = 0; it.valid() && step < 4 * n + 10; step++) {
        const d = -pattern[step % pattern.length]!;
        if (d > 0) it.next();
        else it.prev();
        pos += d;
        check.at(it, pos, `reverse alternating walk step ${step}`);
      }

      // A seeded random walk.
      const wr = new Rng(walkSeed);
      pos = -1;
      for (let step = 0; step < 3000; step++) {
        const r = wr.int(100);
        let op: string;
        if (pos >= 0 && pos < n && r < 40) {
          op = 'next';
          it.next();
          pos++;
        } else if (pos >= 0 && pos < n && r < 80) {
          op = 'prev';
          it.prev();
          pos--;
        } else if (r < 93 && probes.length > 0) {
          const p = probes[wr.int(probes.length)]!;
          op = `seek(${short(p)})`;
          it.seek(p);
          pos = lowerBound(entries, p, cmp);
        } else if (r < 97) {
          op = 'seekToFirst';
          it.seekToFirst();
          pos = 0;
        } else {
          op = 'seekToLast';
          it.seekToLast();
          pos = n - 1;
        }
        if (pos < 0) pos = -1;
        if (pos > n) pos = n;
        check.at(it, pos, `random walk (seed ${walkSeed}) step ${step} ${op}`);
        if (check.failures > 0) break;
      }

      check.report(t);
    });
  }
}

/** Positions of the model: -1 and n both mean "not valid". */
class Checker {
  failures = 0;
  checks = 0;
  private readonly messages: string[] = [];
  constructor(private readonly entries: readonly Entry[]) {}

  at(it: InternalIterator, idx: number, what: string): void {
    this.checks++;
    const want = idx >= 0 && idx < this.entries.length ? this.entries[idx] : undefined;
    const valid = it.valid();
    if (want === undefined) {
      if (valid) this.fail(`${what}: expected not valid, at ${short(it.key())}`);
      return;
    }
    if (!valid) return this.fail(`${what}: expected entry ${idx} ${short(want.key)}, not valid`);
    const k = it.key();
    if (Buffer.compare(k, want.key) !== 0) return this.fail(`${what}: expected entry ${idx} ${short(want.key)}, got key ${short(k)}`);
    if (Buffer.compare(it.value(), want.value) !== 0) return this.fail(`${what}: wrong value for entry ${idx}`);
    if (Buffer.compare(it.key(), want.key) !== 0) this.fail(`${what}: key() changed on a second call`);
  }

  private fail(msg: string): void {
    this.failures++;
    if (this.messages.length < 10) this.messages.push(msg);
  }

  report(t: Tap): void {
    t.same(this.messages, [], `${this.checks} positions match the model`);
  }
}

function makeProbes(entries: readonly Entry[], rng: Rng): Buffer[] {
  const probes: Buffer[] = [Buffer.alloc(0), Buffer.alloc(40, 0xff), Buffer.from([0])];
  const step = Math.max(1, Math.floor(entries.length / 300));
  for (let i = 0; i < entries.length; i += step) {
    const k = entries[i]!.key;
    probes.push(k); // existing
    probes.push(Buffer.concat([k, Buffer.from([0])])); // just after
    if (k.length > 0) {
      probes.push(k.subarray(0, k.length - 1)); // a prefix (before, or an existing key)
      const before = Buffer.from(k);
      if (before[before.length - 1]! > 0) {
        before[before.length - 1]!--;
        probes.push(before);
      }
    }
  }
  for (let i = 0; i < 100; i++) probes.push(rng.bytes(rng.int(12)));
  return probes;
}

function lowerBound(entries: readonly Entry[], target: Uint8Array, cmp: (a: Uint8Array, b: Uint8Array) => number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(entries[mid]!.key, target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function short(k: Uint8Array): string {
  const b = Buffer.from(k.buffer, k.byteOffset, k.length);
  const printable = b.every((c) => c >= 0x20 && c < 0x7f);
  const s = printable ? JSON.stringify(b.toString('latin1')) : `0x${b.toString('hex')}`;
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
