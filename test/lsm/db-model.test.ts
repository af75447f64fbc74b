/**
 * Model-based property test of the DB: seeded random sequences of put / del / batch / concurrent bursts
 * / get / iterate / snapshot / reopen / crash on a MemFileSystem, with a tiny write buffer so memtables
 * flush to tables all the time and tiny level targets so compactions run all the time too (in the
 * background, and through compactRange over random ranges), checked against a sorted in-memory model.
 *
 * Crash: MemFileSystem.crash() drops every byte not synced. The recovered database must equal the
 * model as of some write at or after the last write acknowledged with sync:true — every sync write
 * is there, and no batch is half there (a half-applied batch matches no state of the model). Some
 * crashes hit a compaction in the middle on purpose.
 *
 * Also runs the shared iterator suite (iterator-suite.ts) over the DB's user-key iterator, with the
 * entries spread over tables and the memtable and shadowed by older versions and deletions.
 */
import t from 'tap';
import { DB, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import type { Snapshot } from '../../lsm/index.js';
import { iteratorSuite } from './iterator-suite.js';
import { Rng } from './rng.js';

type Model = Map<string, string>; // hex key -> hex value

const OPS = Number(process.env.DB_MODEL_OPS ?? 2500);
const SEEDS = (process.env.DB_MODEL_SEEDS ?? '1,2,3').split(',').map(Number);
const DIR = '/data/db';

function sortedEntries(m: Model): [string, string][] {
  return [...m.entries()].sort((a, b) => Buffer.compare(Buffer.from(a[0], 'hex'), Buffer.from(b[0], 'hex')));
}

function sameModel(a: Model, b: Model): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

async function dump(db: DB, snapshot?: Snapshot): Promise<Model> {
  const m: Model = new Map();
  for await (const [k, v] of db.iterator({ snapshot })) m.set(k.toString('hex'), v.toString('hex'));
  return m;
}

type Write = { kind: 'put'; key: Buffer; value: Buffer } | { kind: 'del'; key: Buffer } | { kind: 'batch'; ops: Write[] };

function applyWrite(m: Model, w: Write): void {
  if (w.kind === 'put') m.set(w.key.toString('hex'), w.value.toString('hex'));
  else if (w.kind === 'del') m.delete(w.key.toString('hex'));
  else for (const op of w.ops) applyWrite(m, op);
}

for (const seed of SEEDS) {
  t.test(`random operations against a model (seed ${seed}, ${OPS} ops)`, async (t) => {
    const rng = new Rng(seed);
    const fs = new MemFileSystem();
    const options = {
      fs,
      writeBufferSize: 4096,
      blockSize: 256,
      blockCacheSize: 64 * 1024,
      maxOpenFiles: 20,
      l0CompactionTrigger: 2,
      maxBytesForLevelBase: 8 * 1024,
      levelSizeMultiplier: 3,
      targetFileSize: 2048,
    };
    let db = await DB.open(DIR, options);
    t.teardown(() => db.close().catch(() => {}));
    let model: Model = new Map();
    // Models a crash may recover to: the state after the last sync-acknowledged write, and after each
    // write acknowledged since (unsynced writes may survive: a memtable switch syncs the log).
    let candidates: Model[] = [new Map<string, string>()];
    let snaps: { snap: Snapshot; model: Model }[] = [];
    const counts: Record<string, number> = {};
    let failures = 0;
    let flushes = 0;
    let compactions = 0;
    const tally = (): void => {
      const s = db.stats();
      flushes += s.flushes;
      compactions += s.compactions;
    };
    const check = (ok: boolean, msg: string): void => {
      if (ok) return;
      failures++;
      if (failures <= 5) t.fail(`seed ${seed}: ${msg}`);
    };

    const keySpace = 250;
    const randKey = (): Buffer => {
      const i = rng.int(keySpace);
      // Keys of varied lengths and bytes, including the empty key and keys that prefix each other.
      if (i === 0) return Buffer.alloc(0);
      if (i < 10) return Buffer.from([i]);
      return Buffer.from(`key${String(i * 7919 % 1000).padStart(i % 3 === 0 ? 3 : 4, '0')}`);
    };
    const randValue = (): Buffer => (rng.int(10) === 0 ? Buffer.alloc(0) : rng.bytes(rng.int(rng.int(20) === 0 ? 2000 : 80)));
    const randWrite = (): Write => {
      const r = rng.int(10);
      if (r < 6) return { kind: 'put', key: randKey(), value: randValue() };
      if (r < 8) return { kind: 'del', key: randKey() };
      const ops: Write[] = [];
      const n = 1 + rng.int(12);
      for (let i = 0; i < n; i++) ops.push(rng.int(4) === 0 ? { kind: 'del', key: randKey() } : { kind: 'put', key: randKey(), value: randValue() });
      return { kind: 'batch', ops };
    };
    const issue = (w: Write, sync: boolean): Promise<void> => {
      if (w.kind === 'put') return db.put(w.key, w.value, { sync });
      if (w.kind === 'del') return db.del(w.key, { sync });
      const b = new WriteBatch();
      for (const op of w.ops) {
        if (op.kind === 'put') b.put(op.key, op.value);
        else if (op.kind === 'del') b.del(op.key);
      }
      return db.write(b, { sync });
    };
    const acknowledged = (w: Write, sync: boolean): void => {
      applyWrite(model, w);
      const copy = new Map(model);
      if (sync) candidates = [copy];
      else candidates.push(copy);
    };

    for (let step = 0; step < OPS && failures === 0; step++) {
      const r = rng.int(1000);
      let op: string;
      if (r < 450) {
        op = 'write';
        const w = randWrite();
        const sync = rng.int(4) === 0;
        await issue(w, sync);
        acknowledged(w, sync);
      } else if (r < 500) {
        op = 'burst';
        const ws = Array.from({ length: 2 + rng.int(10) }, () => ({ w: randWrite(), sync: rng.int(5) === 0 }));
        await Promise.all(ws.map(({ w, sync }) => issue(w, sync)));
        for (const { w, sync } of ws) acknowledged(w, sync);
      } else if (r < 750) {
        op = 'get';
        const k = randKey();
        const got = await db.get(k);
        const want = model.get(k.toString('hex'));
        check((got === undefined ? undefined : got.toString('hex')) === want, `step ${step}: get(${k.toString('hex')}) = ${got?.toString('hex')}, want ${want}`);
      } else if (r < 800) {
        op = 'iterate';
        const a = randKey();
        const b = randKey();
        const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
        const reverse = rng.int(2) === 0;
        const limit = rng.int(3) === 0 ? rng.int(20) : -1;
        const loName = rng.int(2) === 0 ? 'gte' : 'gt';
        const hiName = rng.int(2) === 0 ? 'lte' : 'lt';
        const useLo = rng.int(3) !== 0;
        const useHi = rng.int(3) !== 0;
        let want = sortedEntries(model).filter(([kh]) => {
          const k = Buffer.from(kh, 'hex');
          if (useLo && (loName === 'gte' ? Buffer.compare(k, lo) < 0 : Buffer.compare(k, lo) <= 0)) return false;
          if (useHi && (hiName === 'lte' ? Buffer.compare(k, hi) > 0 : Buffer.compare(k, hi) >= 0)) return false;
          return true;
        });
        if (reverse) want.reverse();
        if (limit >= 0) want = want.slice(0, limit);
        const got: [string, string][] = [];
        const opts: Record<string, unknown> = { reverse, limit };
        if (useLo) opts[loName] = lo;
        if (useHi) opts[hiName] = hi;
        for await (const [k, v] of db.iterator(opts)) got.push([k.toString('hex'), v.toString('hex')]);
        check(JSON.stringify(got) === JSON.stringify(want), `step ${step}: iterator ${JSON.stringify({ reverse, limit, useLo, useHi, loName, hiName })} got ${got.length} entries, want ${want.length}`);
      } else if (r < 830) {
        op = 'snapshot';
        snaps.push({ snap: db.snapshot(), model: new Map(model) });
        if (snaps.length > 4) snaps.shift()!.snap.release();
      } else if (r < 900) {
        op = 'read-snapshot';
        const s = snaps[rng.int(snaps.length)];
        if (s === undefined) continue;
        if (rng.int(4) === 0) {
          check(sameModel(await dump(db, s.snap), s.model), `step ${step}: snapshot scan differs from the model`);
        } else {
          const k = randKey();
          const got = await db.get(k, { snapshot: s.snap });
          check(got?.toString('hex') === s.model.get(k.toString('hex')), `step ${step}: snapshot get(${k.toString('hex')})`);
        }
      } else if (r < 970) {
        op = 'scan';
        check(sameModel(await dump(db), model), `step ${step}: full scan differs from the model`);
      } else if (r < 985) {
        op = 'compact-range';
        const a = rng.int(3) === 0 ? undefined : randKey();
        const z = rng.int(3) === 0 ? undefined : randKey();
        const [lo, hi] = a !== undefined && z !== undefined && Buffer.compare(a, z) > 0 ? [z, a] : [a, z];
        await db.compactRange(lo, hi);
        check(sameModel(await dump(db), model), `step ${step}: full scan differs from the model`);
      } else if (r < 993) {
        op = 'reopen';
        tally();
        await db.close();
        db = await DB.open(DIR, options);
        snaps = [];
        check(sameModel(await dump(db), model), `step ${step}: state after a clean reopen differs`);
        candidates = [new Map(model)];
      } else {
        op = 'crash';
        let midCompaction: Promise<unknown> | undefined;
        if (rng.int(2) === 0) {
          // Crash while a compaction is writing its outputs.
          midCompaction = db.compactRange().catch((err: unknown) => err);
          for (let i = rng.int(20); i > 0; i--) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        tally();
        fs.crash();
        await midCompaction;
        await db.close().catch(() => {}); // the old instance's handles are dead; let it wind down
        db = await DB.open(DIR, options);
        snaps = [];
        const recovered = await dump(db);
        const match = candidates.findIndex((c) => sameModel(c, recovered));
        check(match >= 0, `step ${step}: state after a crash matches no acknowledged prefix (sync-acked writes lost or a batch half applied); ${candidates.length} candidates`);
        if (match >= 0) model = candidates[match]!;
        candidates = [new Map(model)];
      }
      counts[op] = (counts[op] ?? 0) + 1;
    }
    check(sameModel(await dump(db), model), 'final state');
    tally();
    t.ok(flushes > 20, `memtables flushed often (${flushes} background flushes, besides those on reopen)`);
    t.ok(compactions > 20, `tables were compacted often (${compactions} compactions that rewrote tables)`);
    t.ok((counts.crash ?? 0) >= 5 && (counts.reopen ?? 0) >= 5, `ops: ${JSON.stringify(counts)}`);
    t.equal(failures, 0, `no divergence from the model in ${OPS} operations`);
  });
}

t.test('the DB iterator passes the shared iterator suite', (t) => {
  const fs = new MemFileSystem();
  let n = 0;
  iteratorSuite(t, 'db', async (entries) => {
    const dir = `/suite/${n++}`;
    const db = await DB.open(dir, { fs, writeBufferSize: 16 * 1024, blockSize: 512 });
    t.teardown(() => db.close());
    const rng = new Rng(n);
    // Older versions and deleted keys first (mostly flushed to tables), then the entries themselves.
    for (const e of entries) {
      if (rng.int(3) === 0) await db.put(e.key, Buffer.from('old'));
      if (rng.int(5) === 0) await db.del(e.key);
      if (rng.int(4) === 0) {
        const ghost = Buffer.concat([e.key, Buffer.from([0])]);
        if (!entries.some((x) => x.key.equals(ghost))) {
          await db.put(ghost, Buffer.from('ghost'));
          await db.del(ghost);
        }
      }
    }
    const half = Math.floor(entries.length / 2);
    for (const e of entries.slice(0, half)) await db.put(e.key, e.value);
    await db.waitForFlush();
    const snap = db.snapshot();
    for (const e of entries.slice(half)) await db.put(e.key, e.value);
    // Writes after the iterator's sequence must be invisible to it.
    const view = await db.internalIterator();
    for (const e of entries.slice(0, 5)) await db.put(e.key, Buffer.from('too new'));
    snap.release();
    t.teardown(() => view.close());
    return view.iter;
  });
  t.end();
});
