/**
 * Crash test of IndexedDB on a MemFileSystem: random writes (some synced, some still in flight),
 * then crash() — which drops every unsynced byte — at random moments: between writes, during a burst
 * of concurrent writes, during compactRange, and during an open that backfills an added index or
 * deletes a removed one. After each crash the store is reopened (with a random subset of the indexes)
 * and the index entries must be exactly those the recovered primary records imply: each declared
 * index's scan equals the index computed from the recovered records, and the raw key space holds no
 * other index entry. Between crashes with nothing in flight, every sync-acknowledged write survives
 * and no batch is half applied (the recovered records equal the model after some acknowledged write).
 */
import t from 'tap';
import { DB, IndexedDB, MemFileSystem, NS_INDEX, type IndexedWrite, type IndexFunction } from '../../lsm/index.js';
import { TEST_INDEXES, dumpPrimary, expectedRows, randKey, randValue, scanIndex, type Model } from './indexed-db-helpers.js';
import { Rng } from './rng.js';

const ROUNDS = Number(process.env.INDEXED_CRASH_ROUNDS ?? 30);
const SEEDS = (process.env.INDEXED_CRASH_SEEDS ?? '11,12,13').split(',').map(Number);
const DIR = '/data/idx';

const same = (a: Model, b: Model): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

function apply(model: Model, ops: readonly IndexedWrite[]): void {
  for (const op of ops) {
    if (op.type === 'put') model.set(Buffer.from(op.key).toString('hex'), Buffer.from(op.value).toString('hex'));
    else model.delete(Buffer.from(op.key).toString('hex'));
  }
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

for (const seed of SEEDS) {
  t.test(`crash ${ROUNDS} times at random moments: primary and index never diverge (seed ${seed})`, async (t) => {
    const rng = new Rng(seed);
    const fs = new MemFileSystem();
    const base = { fs, writeBufferSize: 1024, blockSize: 256, l0CompactionTrigger: 2, maxBytesForLevelBase: 4096, targetFileSize: 1024 };
    const pickIndexes = (): Record<string, IndexFunction> => Object.fromEntries(Object.entries(TEST_INDEXES).filter(() => rng.chance(0.75)));
    let declared = pickIndexes();
    let store = await IndexedDB.open(DIR, { ...base, indexes: declared });
    t.teardown(() => store.close().catch(() => {}));
    let model: Model = new Map();
    let candidates: Model[] = [new Map<string, string>()];
    const problems: string[] = [];
    const modes: Record<string, number> = {};
    let opensCutShort = 0;
    const randOps = (): IndexedWrite[] =>
      Array.from({ length: rng.chance(0.3) ? 1 + rng.int(5) : 1 }, () =>
        rng.chance(0.25) ? { type: 'del', key: randKey(rng, 50) } : { type: 'put', key: randKey(rng, 50), value: randValue(rng) },
      );

    for (let round = 0; round < ROUNDS && problems.length === 0; round++) {
      for (let i = rng.int(40); i > 0; i--) {
        const ops = randOps();
        const sync = rng.chance(0.2);
        await store.write(ops, { sync });
        apply(model, ops);
        if (sync) candidates = [new Map(model)];
        else candidates.push(new Map(model));
      }
      const mode = ['quiet', 'in-flight writes', 'in-flight writes', 'compaction', 'reopen with other indexes'][rng.int(5)]!;
      modes[mode] = (modes[mode] ?? 0) + 1;
      let inFlight: Promise<unknown>[] = [];
      if (mode === 'in-flight writes') {
        inFlight = Array.from({ length: 1 + rng.int(10) }, () => store.write(randOps(), { sync: rng.chance(0.5) }).catch((e: unknown) => e));
        // On a MemFileSystem writes take microtasks, not event-loop turns: crash after some of them.
        if (rng.chance(0.8)) await ticks(rng.int(150));
        else await turns(rng.int(6));
      } else if (mode === 'compaction') {
        inFlight = [store.compactRange().catch((e: unknown) => e)];
        await turns(rng.int(20));
      }
      let opening: Promise<unknown> | undefined;
      let openSettled = false;
      if (mode === 'reopen with other indexes') {
        // Crash inside an open that backfills an added index or deletes a removed one: right after it
        // logs one such step (its writes issued, the metadata not yet rewritten), or a few turns in.
        await store.close();
        const toggle = Object.keys(TEST_INDEXES)[rng.int(3)]!;
        declared = { ...declared };
        if (toggle in declared) delete declared[toggle];
        else declared[toggle] = TEST_INDEXES[toggle]!;
        const fromLogger = rng.chance(0.5);
        let crashedInOpen = false;
        const logger = {
          info: (msg: string): void => {
            if (!fromLogger || crashedInOpen || !msg.startsWith('index ')) return;
            crashedInOpen = true;
            fs.crash();
          },
          warn() {},
          error() {},
        };
        opening = IndexedDB.open(DIR, { ...base, indexes: declared, logger }).catch((e: unknown) => e);
        void opening.then(() => (openSettled = true));
        await turns(fromLogger ? 100 : rng.int(30));
        if (crashedInOpen || !openSettled) opensCutShort++;
      }
      fs.crash();
      await Promise.all(inFlight);
      const opened = await opening;
      if (opened instanceof IndexedDB) await opened.close().catch(() => {});
      await store.close().catch(() => {});

      if (rng.chance(0.5)) declared = pickIndexes();
      store = await IndexedDB.open(DIR, { ...base, indexes: declared });
      const recovered = await dumpPrimary(store);
      if (inFlight.length === 0 && !candidates.some((c) => same(c, recovered))) {
        problems.push(`round ${round} (${mode}): the records match no acknowledged state (a sync write lost or a batch half applied)`);
      }
      let implied = 0;
      for (const [name, fn] of Object.entries(declared)) {
        const want = expectedRows(recovered, fn);
        implied += want.length;
        const got = await scanIndex(store, name);
        if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`round ${round} (${mode}): index ${name} has ${got.length} entries, the records imply ${want.length}`);
      }
      await store.close();
      const raw = await DB.open(DIR, { fs });
      let stored = 0;
      for await (const _ of raw.iterator({ gte: Buffer.from([NS_INDEX]), lt: Buffer.from([NS_INDEX + 1]) })) stored++;
      await raw.close();
      if (stored !== implied) problems.push(`round ${round} (${mode}): ${stored} index entries stored, ${implied} implied by the records`);
      store = await IndexedDB.open(DIR, { ...base, indexes: declared });
      model = recovered;
      candidates = [new Map(model)];
    }
    t.same(problems.slice(0, 5), [], 'index entries equal what the recovered records imply after every crash');
    t.ok(Object.keys(modes).length === 4, `crash points: ${JSON.stringify(modes)}`);
    t.ok(opensCutShort > 0, `${opensCutShort} crashes hit an open that was still rebuilding indexes`);
    t.ok(store.stats().levelFiles.some((n) => n > 0), 'crashes hit a database with tables');
  });
}
