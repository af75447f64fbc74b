/**
 * Model-based property test of IndexedDB: per seed, a few hundred random puts (that change index keys),
 * overwrites, deletes, batches (repeating keys) and concurrent bursts (several writers of one key), on a
 * MemFileSystem with a tiny write buffer and tiny level targets so memtables flush and tables compact
 * all the time, with compactRange and reopens (each with a random subset of the indexes: dropped ones
 * are deleted, re-added ones backfilled) in between. After every phase each declared index's full scan
 * and random range scans must equal the index computed from the model exactly — no stale entry, none
 * missing, each with its current record — and a scan started before a write must not see it. One of
 * the indexes is a covering one: its cover scan must equal the covers of the current records.
 */
import t from 'tap';
import { DB, IndexedDB, MemFileSystem, NS_INDEX, type CoveringIndex, type IndexedWrite, type IndexFunction } from '../../lsm/index.js';
import {
  COVERED_TEST_INDEX,
  TEST_INDEXES,
  dumpPrimary,
  expectedCovers,
  expectedRows,
  keysFn,
  randIndexOptions,
  randKey,
  randValue,
  scanCovers,
  scanIndex,
  type Model,
  type Row,
} from './indexed-db-helpers.js';
import { Rng } from './rng.js';

const OPS = Number(process.env.INDEXED_MODEL_OPS ?? 350);
const SEEDS = (process.env.INDEXED_MODEL_SEEDS ?? '1,2,3,4,5,6').split(',').map(Number);
const DIR = '/data/idx';
const ALL_INDEXES: Record<string, IndexFunction | CoveringIndex> = { ...TEST_INDEXES, covered: COVERED_TEST_INDEX };

function apply(model: Model, ops: readonly IndexedWrite[]): void {
  for (const op of ops) {
    if (op.type === 'put') model.set(Buffer.from(op.key).toString('hex'), Buffer.from(op.value).toString('hex'));
    else model.delete(Buffer.from(op.key).toString('hex'));
  }
}

for (const seed of SEEDS) {
  t.test(`random writes against a model (seed ${seed}, ${OPS} ops)`, async (t) => {
    const rng = new Rng(seed);
    const fs = new MemFileSystem();
    const base = {
      fs,
      writeBufferSize: 1024,
      blockSize: 256,
      l0CompactionTrigger: 2,
      maxBytesForLevelBase: 4096,
      levelSizeMultiplier: 3,
      targetFileSize: 1024,
    };
    let declared: Record<string, IndexFunction | CoveringIndex> = { ...ALL_INDEXES };
    let store = await IndexedDB.open(DIR, { ...base, indexes: declared });
    t.teardown(() => store.close().catch(() => {}));
    const model: Model = new Map();
    const counts: Record<string, number> = {};
    let failures = 0;
    let flushes = 0;
    let compactions = 0;
    const tally = (): void => {
      flushes += store.stats().flushes;
      compactions += store.stats().compactions;
    };
    const check = (ok: boolean, msg: string): void => {
      if (ok) return;
      failures++;
      if (failures <= 5) t.fail(`seed ${seed}: ${msg}`);
    };
    const sameRows = (got: Row[], want: Row[]): boolean => JSON.stringify(got) === JSON.stringify(want);
    const checkAll = async (when: string): Promise<void> => {
      check(JSON.stringify([...(await dumpPrimary(store))].sort()) === JSON.stringify([...model].sort()), `${when}: primary records differ`);
      for (const [name, d] of Object.entries(declared)) {
        const fn = keysFn(d);
        check(sameRows(await scanIndex(store, name), expectedRows(model, fn)), `${when}: full scan of ${name} differs`);
        for (let i = 0; i < 2; i++) {
          const o = randIndexOptions(rng);
          check(sameRows(await scanIndex(store, name, o), expectedRows(model, fn, o)), `${when}: ${name} scan ${JSON.stringify(o)} differs`);
        }
        if (typeof d === 'function') continue;
        check(sameRows(await scanCovers(store, name), expectedCovers(model, d)), `${when}: cover scan of ${name} differs`);
        const o = randIndexOptions(rng);
        check(sameRows(await scanCovers(store, name, o), expectedCovers(model, d, o)), `${when}: ${name} cover scan ${JSON.stringify(o)} differs`);
        check(sameRows(await scanCovers(store, name, o, 3), expectedCovers(model, d, o)), `${when}: ${name} cover scan ${JSON.stringify(o)} in pages of 3 differs`);
      }
    };
    const keySpace = 40;
    const randWrite = (): IndexedWrite[] => {
      const n = rng.chance(0.25) ? 1 + rng.int(6) : 1;
      return Array.from({ length: n }, () => (rng.chance(0.25) ? { type: 'del', key: randKey(rng, keySpace) } : { type: 'put', key: randKey(rng, keySpace), value: randValue(rng) }));
    };

    for (let step = 0; step < OPS && failures === 0; step++) {
      const r = rng.int(100);
      let op: string;
      if (r < 60) {
        op = 'write';
        const ops = randWrite();
        await store.write(ops, { sync: rng.chance(0.1) });
        apply(model, ops);
      } else if (r < 72) {
        op = 'burst'; // concurrent writers, often of the same keys: applied per key in call order
        const writes = Array.from({ length: 2 + rng.int(8) }, randWrite);
        await Promise.all(writes.map((w) => store.write(w)));
        for (const w of writes) apply(model, w);
      } else if (r < 80) {
        op = 'scan-during-writes';
        const name = Object.keys(declared)[rng.int(Object.keys(declared).length)];
        if (name === undefined) continue;
        const want = expectedRows(model, keysFn(declared[name]!));
        const it = store.indexIterator(name);
        const ops = randWrite();
        await store.write(ops);
        apply(model, ops);
        const got: Row[] = [];
        for await (const e of it) got.push([e.indexKey.toString('hex'), e.key.toString('hex'), e.value.toString('hex')]);
        check(sameRows(got, want), `step ${step}: a scan saw a write made after it started`);
      } else if (r < 89) {
        op = 'check';
        await checkAll(`step ${step}`);
      } else if (r < 96) {
        op = 'compact';
        await store.compactRange();
        await checkAll(`step ${step} after compactRange`);
      } else {
        op = 'reopen';
        tally();
        await store.close();
        declared = Object.fromEntries(Object.entries(ALL_INDEXES).filter(() => rng.chance(0.7)));
        store = await IndexedDB.open(DIR, { ...base, indexes: declared });
        await checkAll(`step ${step} after reopen with ${Object.keys(declared).join(',') || 'no indexes'}`);
      }
      counts[op] = (counts[op] ?? 0) + 1;
    }
    await checkAll('the end');
    tally();
    await store.close();
    // No index entry outside the declared indexes' expected ones (a dropped index leaves nothing).
    const raw = await DB.open(DIR, { fs });
    let entries = 0;
    for await (const _ of raw.iterator({ gte: Buffer.from([NS_INDEX]), lt: Buffer.from([NS_INDEX + 1]) })) entries++;
    await raw.close();
    const want = Object.values(declared).reduce((n, d) => n + expectedRows(model, keysFn(d)).length, 0);
    t.equal(entries, want, `the store holds exactly the ${want} index entries the records imply`);
    t.ok(flushes > 10, `memtables flushed often (${flushes} flushes)`);
    t.ok(compactions > 5, `tables were compacted (${compactions} compactions)`);
    t.ok((counts.reopen ?? 0) >= 3 && (counts.compact ?? 0) >= 3, `ops: ${JSON.stringify(counts)}`);
    t.equal(failures, 0, `no divergence from the model in ${OPS} operations`);
  });
}
