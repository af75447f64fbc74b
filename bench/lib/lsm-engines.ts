/**
 * The four engine variants bench/lsm.ts compares, behind one small interface:
 *
 *   ours           DB directly (the engine's own API): put/get, WriteBatch + write, iterator().nextv(1000)
 *   ours-level     LsmLevel, the same engine behind abstract-level
 *   classic        classic-level's fastest calls: put/get, a chained batch (ops go straight into the
 *                  native batch, no array of op objects), getMany for 64 reads at once, nextv(1000)
 *   classic-level  classic-level through the abstract-level calls ours-level uses: put/get, batch([ops]),
 *                  64 concurrent get()s, nextv(1000)
 *
 * Keys are "%016d", values 100 bytes from a pool like db_bench's (50 random bytes, repeated).
 */
import { ClassicLevel } from 'classic-level';
import { DB, LsmLevel, WriteBatch } from '../../lsm/index.js';
import { resolveOptions } from '../../lsm/options.js';
import { xorshiftRandom } from '../../lsm/skiplist.js';

export const KEY_SIZE = 16;
export const VALUE_SIZE = 100;
export const VARIANTS = ['ours', 'ours-level', 'classic', 'classic-level'] as const;
export type Variant = (typeof VARIANTS)[number];

/** What each variant calls, for the report. */
export const API_USED: Record<Variant, string> = {
  ours: 'DB: put/get, WriteBatch+write, iterator().nextv(1000), 64 concurrent get()',
  'ours-level': 'LsmLevel (abstract-level): put/get, batch([ops]), iterator().nextv(1000), 64 concurrent get()',
  classic: 'ClassicLevel own fastest: put/get, chained batch().put().write(), iterator().nextv(1000), getMany(64 keys)',
  'classic-level': 'ClassicLevel (abstract-level): put/get, batch([ops]), iterator().nextv(1000), 64 concurrent get()',
};

/** A seeded xorshift (the skiplist's) as 32-bit integers for keys, so every variant sees the same sequence. */
export function rng(seed: number): () => number {
  const next = xorshiftRandom(seed);
  return () => next() * 0x100000000;
}

export function key(i: number): Buffer {
  return Buffer.from(String(i).padStart(KEY_SIZE, '0'), 'latin1');
}

const VALUE_POOL = (() => {
  const r = rng(301);
  const pool = Buffer.allocUnsafe(1 << 20);
  for (let p = 0; p < pool.length; p += VALUE_SIZE) {
    for (let i = 0; i < VALUE_SIZE / 2 && p + i < pool.length; i++) pool[p + i] = 32 + (r() % 95);
    pool.copyWithin(p + VALUE_SIZE / 2, p, Math.min(p + VALUE_SIZE / 2, pool.length));
  }
  return pool;
})();
let valuePos = 0;
export function value(): Buffer {
  if (valuePos + VALUE_SIZE > VALUE_POOL.length) valuePos = 0;
  const v = VALUE_POOL.subarray(valuePos, valuePos + VALUE_SIZE);
  valuePos += VALUE_SIZE;
  return v;
}

export interface Engine {
  put(k: Buffer, v: Buffer, sync?: boolean): Promise<void>;
  get(k: Buffer): Promise<unknown>;
  /** Writes keys [from, to) with fresh values as one batch. */
  fillBatch(from: number, to: number): Promise<void>;
  /** Reads these keys all at once (the readrandom64 step). */
  getMany(keys: Buffer[]): Promise<unknown>;
  /** Iterates over everything in pages of 1,000; adds each page to `progress.done`. */
  scan(progress: { done: number }): Promise<number>;
  /** A full compaction; `timed` is false where the API has none and the bench goes around it. */
  compactAll(): Promise<{ timed: boolean }>;
  stats(): Record<string, unknown>;
  /** Write stalls since open (count, total ms), where the engine reports them; undefined elsewhere. */
  stalls(): { count: number; ms: number } | undefined;
  close(): Promise<void>;
}

/**
 * Our engine's memory budget from its resolved default options: two memtables (the mutable one and the
 * one being flushed) + the block cache + 64 MiB for everything else (Node itself, tables' indexes and
 * filters, buffers). Issue 10: peak RSS must stay within it.
 */
export function ourMemoryBudget(): { writeBufferSize: number; blockCacheSize: number; budgetBytes: number } {
  const o = resolveOptions({});
  return { writeBufferSize: o.writeBufferSize, blockCacheSize: o.blockCacheSize, budgetBytes: 2 * o.writeBufferSize + o.blockCacheSize + (64 << 20) };
}

const concurrentGets = (get: (k: Buffer) => Promise<unknown>) => (keys: Buffer[]) => Promise.all(keys.map(get));

async function openOurs(dir: string): Promise<Engine> {
  const db = await DB.open(dir);
  const get = (k: Buffer): Promise<unknown> => db.get(k);
  return {
    put: (k, v, sync) => db.put(k, v, sync === true ? { sync } : undefined),
    get,
    fillBatch: (from, to) => {
      const b = new WriteBatch((to - from) * (KEY_SIZE + VALUE_SIZE + 4) + 16);
      for (let j = from; j < to; j++) b.put(key(j), value());
      return db.write(b);
    },
    getMany: concurrentGets(get),
    scan: async (progress) => {
      const it = db.iterator();
      let n = 0;
      for (let page = await it.nextv(1000); page.length > 0; page = await it.nextv(1000)) {
        n += page.length;
        progress.done = n;
      }
      return n;
    },
    compactAll: async () => {
      await db.compactRange();
      return { timed: true };
    },
    stats: () => {
      const s = db.stats();
      return {
        levelFiles: s.levelFiles.join('/'),
        writeAmplification: Number(s.writeAmplification.toFixed(2)),
        compactions: s.compactions,
        trivialMoves: s.trivialMoves,
        stalls: s.stallCount,
        stallMs: Math.round(s.stallMs),
      };
    },
    stalls: () => {
      const s = db.stats();
      return { count: s.stallCount, ms: s.stallMs };
    },
    close: () => db.close(),
  };
}

/** The abstract-level calls the bench makes, as both LsmLevel and ClassicLevel declare them. */
interface AnyLevel {
  put(key: Buffer, value: Buffer, options: { sync?: boolean }): Promise<void>;
  get(key: Buffer): Promise<Buffer | undefined>;
  batch(operations: Array<{ type: 'put'; key: Buffer; value: Buffer }>): Promise<void>;
  iterator(): { nextv(size: number): Promise<unknown[]>; close(): Promise<void> };
  close(): Promise<void>;
}

/** Shared by both abstract-level variants: only abstract-level calls. */
function levelEngine(db: AnyLevel, compactAll: () => Promise<{ timed: boolean }>): Engine {
  const get = (k: Buffer): Promise<unknown> => db.get(k);
  return {
    put: (k, v, sync) => db.put(k, v, sync === true ? { sync } : {}),
    get,
    fillBatch: (from, to) => {
      const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
      for (let j = from; j < to; j++) ops.push({ type: 'put', key: key(j), value: value() });
      return db.batch(ops);
    },
    getMany: concurrentGets(get),
    scan: (progress) => scanNextv(db, progress),
    compactAll,
    stats: () => ({}),
    stalls: () => undefined,
    close: () => db.close(),
  };
}

async function scanNextv(db: AnyLevel, progress: { done: number }): Promise<number> {
  const it = db.iterator();
  let n = 0;
  for (;;) {
    const page = await it.nextv(1000);
    if (page.length === 0) break;
    n += page.length;
    progress.done = n;
  }
  await it.close();
  return n;
}

async function openOursLevel(dir: string): Promise<Engine> {
  const opts = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
  let db = new LsmLevel<Buffer, Buffer>(dir, opts);
  await db.open();
  const compactAll = async (): Promise<{ timed: boolean }> => {
    // abstract-level has no compaction call: close, compact through the engine, reopen (untimed).
    await db.close();
    const raw = await DB.open(dir);
    await raw.compactRange();
    await raw.close();
    db = new LsmLevel<Buffer, Buffer>(dir, opts);
    await db.open();
    Object.assign(engine, levelEngine(db, compactAll));
    return { timed: false };
  };
  const engine: Engine = levelEngine(db, compactAll);
  return engine;
}

async function openClassicDb(dir: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

async function openClassicLevel(dir: string): Promise<Engine> {
  const db = await openClassicDb(dir);
  return levelEngine(db, async () => {
    await db.compactRange(key(0), key(Number.MAX_SAFE_INTEGER));
    return { timed: false };
  });
}

async function openClassic(dir: string): Promise<Engine> {
  const db = await openClassicDb(dir);
  return {
    ...levelEngine(db, async () => {
      await db.compactRange(key(0), key(Number.MAX_SAFE_INTEGER));
      return { timed: true };
    }),
    fillBatch: (from, to) => {
      const b = db.batch();
      for (let j = from; j < to; j++) b.put(key(j), value());
      return b.write();
    },
    getMany: (keys) => db.getMany(keys),
  };
}

export function opener(v: Variant): (dir: string) => Promise<Engine> {
  switch (v) {
    case 'ours':
      return openOurs;
    case 'ours-level':
      return openOursLevel;
    case 'classic':
      return openClassic;
    case 'classic-level':
      return openClassicLevel;
  }
}
