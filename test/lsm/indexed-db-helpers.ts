/**
 * Shared by the IndexedDB tests: index functions with awkward outputs (0, 1 or several keys, empty
 * keys, duplicates, keys that prefix each other, 00 and ff bytes), and the model's answer to an index
 * scan computed straight from the records, to compare with what the store returns.
 */
import type { CoverEntry, CoveringIndex, IndexedDB, IndexFunction, IndexIteratorOptions, KeyBounds } from '../../lsm/index.js';
import type { Rng } from './rng.js';

/** hex key -> hex value */
export type Model = Map<string, string>;
/** [index key, primary key, value], hex. */
export type Row = [string, string, string];

export const TEST_INDEXES: Record<string, IndexFunction> = {
  // One key: a prefix of the value whose length the first byte picks (often empty, often a prefix of another).
  head: (_k, v) => [v.subarray(0, (v[0] ?? 0) % 4)],
  // 0–3 keys, two bytes each from the value, duplicates included.
  pairs: (_k, v) => Array.from({ length: v.length % 4 }, (_, i) => v.subarray(i, i + 2)),
  // Only records with an even-length value, keyed by the value's first byte then the primary key.
  even: (k, v) => (v.length % 2 === 0 ? [Buffer.concat([v.subarray(0, 1), k])] : []),
};

/**
 * A covering index whose key depends on the primary key only, so an overwrite keeps the entry and must
 * still replace its cover; the cover is the value reversed plus its length (never empty).
 */
export const COVERED_TEST_INDEX: CoveringIndex = {
  keys: (k) => [Buffer.from([k.length % 3])],
  cover: (_k, v) => Buffer.concat([Buffer.from(v).reverse(), Buffer.from([v.length])]),
};

/** The key function of an index declaration. */
export const keysFn = (d: IndexFunction | CoveringIndex): IndexFunction => (typeof d === 'function' ? d : d.keys);

/** What coverIterator(name, options) must return: rows of [index key, primary key, cover], hex. */
export function expectedCovers(model: Model, index: CoveringIndex, options: IndexIteratorOptions = {}): Row[] {
  return expectedRows(model, index.keys, options).map(([ik, k, v]) => [ik, k, Buffer.from(index.cover(Buffer.from(k, 'hex'), Buffer.from(v, 'hex'))).toString('hex')]);
}

/** A cover scan's rows, entry by entry (for await), or in pages of `pageSize` through nextv(). */
export async function scanCovers(store: IndexedDB, name: string, options?: IndexIteratorOptions, pageSize?: number): Promise<Row[]> {
  const rows: Row[] = [];
  const row = (e: CoverEntry): number => rows.push([e.indexKey.toString('hex'), e.key.toString('hex'), e.cover.toString('hex')]);
  const it = store.coverIterator(name, options);
  if (pageSize === undefined) for await (const e of it) row(e);
  else for (let page = await it.nextv(pageSize); page.length > 0; page = await it.nextv(pageSize)) page.forEach(row);
  return rows;
}

/** Values over a tiny alphabet with 00 and ff, so index keys collide and escape bytes matter. */
export function randValue(rng: Rng): Buffer {
  const alphabet = [0x00, 0x01, 0xff, 0x61];
  return Buffer.from(Array.from({ length: rng.int(7) }, () => alphabet[rng.int(alphabet.length)]!));
}

export function randKey(rng: Rng, keySpace: number): Buffer {
  const i = rng.int(keySpace);
  if (i === 0) return Buffer.alloc(0);
  if (i < 6) return Buffer.from([0, i]);
  return Buffer.from(`k${i % 3 === 0 ? '' : '0'}${i}`);
}

function cmpRow(a: Row, b: Row): number {
  return Buffer.compare(Buffer.from(a[0], 'hex'), Buffer.from(b[0], 'hex')) || Buffer.compare(Buffer.from(a[1], 'hex'), Buffer.from(b[1], 'hex'));
}

export function inBounds(x: Buffer, b: KeyBounds): boolean {
  if (b.gt !== undefined ? Buffer.compare(x, b.gt) <= 0 : b.gte !== undefined && Buffer.compare(x, b.gte) < 0) return false;
  if (b.lt !== undefined ? Buffer.compare(x, b.lt) >= 0 : b.lte !== undefined && Buffer.compare(x, b.lte) > 0) return false;
  return true;
}

/** What indexIterator(name, options) must return for these records. */
export function expectedRows(model: Model, fn: IndexFunction, options: IndexIteratorOptions = {}): Row[] {
  const rows: Row[] = [];
  for (const [kh, vh] of model) {
    const seen = new Set<string>();
    for (const ik of fn(Buffer.from(kh, 'hex'), Buffer.from(vh, 'hex'))) {
      const ikh = Buffer.from(ik).toString('hex');
      if (seen.has(ikh) || !inBounds(Buffer.from(ik), options)) continue;
      seen.add(ikh);
      rows.push([ikh, kh, vh]);
    }
  }
  rows.sort(cmpRow);
  if (options.reverse === true) rows.reverse();
  return options.limit === undefined || options.limit < 0 ? rows : rows.slice(0, options.limit);
}

export async function scanIndex(store: IndexedDB, name: string, options?: IndexIteratorOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const e of store.indexIterator(name, options)) rows.push([e.indexKey.toString('hex'), e.key.toString('hex'), e.value.toString('hex')]);
  return rows;
}

export async function dumpPrimary(store: IndexedDB): Promise<Model> {
  const m: Model = new Map();
  for await (const [k, v] of store.iterator()) m.set(k.toString('hex'), v.toString('hex'));
  return m;
}

/** Random bounds on index keys (some open), a direction and sometimes a limit. */
export function randIndexOptions(rng: Rng): IndexIteratorOptions {
  const o: IndexIteratorOptions = { reverse: rng.chance(0.3) };
  const a = randValue(rng).subarray(0, 3);
  const b = randValue(rng).subarray(0, 3);
  const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  if (rng.chance(0.6)) o[rng.chance(0.5) ? 'gte' : 'gt'] = lo;
  if (rng.chance(0.6)) o[rng.chance(0.5) ? 'lte' : 'lt'] = hi;
  if (rng.chance(0.25)) o.limit = rng.int(8);
  return o;
}
