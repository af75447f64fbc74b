/**
 * Flush and compaction on the background thread (lsm/THREADS.md), on a real directory:
 *  - random puts, deletes and batches with a tiny write buffer and tiny levels, so flushes and
 *    compactions run on the worker all the time; reads and a snapshot are checked against a model
 *    while they run, and every key after a reopen;
 *  - close() while a compaction runs in the worker: the compaction is aborted, and every acknowledged
 *    write is there after a reopen;
 *  - a worker killed under a job: the job is retried on a new worker; killed under every attempt, the
 *    job fails and becomes the DB's background error (writes refused, reads go on), and a reopen finds
 *    every acknowledged write;
 *  - a corrupt input table: the worker's CorruptionError reaches the caller as the same class, with its
 *    file;
 *  - a process started with flags Node refuses in a worker (V8's, `--input-type`): its worker starts
 *    without them and does its jobs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { CorruptionError, DB, IOError, WriteBatch, type DBOptions } from '../../lsm/index.js';
import { Rng } from './rng.js';

type Model = Map<string, string>;

const SMALL: DBOptions = {
  writeBufferSize: 8 * 1024,
  l0CompactionTrigger: 2,
  maxBytesForLevelBase: 32 * 1024,
  targetFileSize: 8 * 1024,
  blockSize: 512,
};

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-bg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function dump(db: DB): Promise<Model> {
  const m: Model = new Map();
  for await (const [k, v] of db.iterator()) m.set(k.toString('hex'), v.toString('hex'));
  return m;
}

function diff(want: Model, got: Model): string[] {
  const out: string[] = [];
  for (const [k, v] of want) if (got.get(k) !== v) out.push(`${k}: want ${v.slice(0, 16)}, got ${got.get(k)?.slice(0, 16)}`);
  for (const k of got.keys()) if (!want.has(k)) out.push(`${k}: deleted, still there`);
  return out.slice(0, 5);
}

/** Writes `n` keys k000000.. with 100-byte values; returns the model. */
async function fill(db: DB, n: number, tag: string): Promise<Model> {
  const m: Model = new Map();
  for (let i = 0; i < n; i += 100) {
    const b = new WriteBatch();
    for (let j = i; j < i + 100; j++) {
      const k = Buffer.from(`k${String(j).padStart(6, '0')}`);
      const v = Buffer.from(`${tag}:${j}:`.padEnd(100, String.fromCharCode(97 + (j % 26))));
      b.put(k, v);
      m.set(k.toString('hex'), v.toString('hex'));
    }
    await db.write(b);
  }
  return m;
}

t.test('random writes with flushes and compactions on the worker match a model, before and after reopen', async (t) => {
  const dir = tempDir(t);
  const rng = new Rng(10);
  const model: Model = new Map();
  let db = await DB.open(dir, SMALL);
  let snap: { snapshot: ReturnType<DB['snapshot']>; model: Model } | undefined;
  const wrongGets: string[] = [];
  try {
    for (let op = 0; op < 6000; op++) {
      const key = (): Buffer => Buffer.from(`key${rng.int(1500)}`);
      const r = rng.int(100);
      if (r < 60) {
        const k = key();
        const v = rng.bytes(20 + rng.int(120));
        await db.put(k, v);
        model.set(k.toString('hex'), v.toString('hex'));
      } else if (r < 75) {
        const k = key();
        await db.del(k);
        model.delete(k.toString('hex'));
      } else if (r < 85) {
        const b = new WriteBatch();
        for (let i = rng.int(20); i >= 0; i--) {
          const k = key();
          if (rng.chance(0.2)) {
            b.del(k);
            model.delete(k.toString('hex'));
          } else {
            const v = rng.bytes(50);
            b.put(k, v);
            model.set(k.toString('hex'), v.toString('hex'));
          }
        }
        await db.write(b);
      } else {
        const k = key();
        const got = await db.get(k);
        if (got?.toString('hex') !== model.get(k.toString('hex'))) wrongGets.push(`get ${k.toString()} at op ${op}`);
      }
      if (op === 2000) snap = { snapshot: db.snapshot(), model: new Map(model) };
    }
    t.same(wrongGets.slice(0, 5), [], 'every get during the run answered as the model');
    const bt = db.backgroundThreadForTests;
    t.ok(bt !== undefined && bt.workersStarted === 1 && bt.crashes === 0, 'one worker did the background work');
    await db.waitForCompaction();
    const s = db.stats();
    t.ok(s.flushes >= 20, `${s.flushes} flushes`);
    t.ok(bt!.arenasAllocated <= 2, `${bt!.arenasAllocated} memtable-copy arenas for ${s.flushes} flushes: the worker gives each back`);
    t.ok(s.compactions >= 5, `${s.compactions} compactions (+ ${s.trivialMoves} moves); layout ${db.describeVersion()}`);
    t.same(diff(snap!.model, await (async () => {
      const m: Model = new Map();
      for await (const [k, v] of db.iterator({ snapshot: snap!.snapshot })) m.set(k.toString('hex'), v.toString('hex'));
      return m;
    })()), [], 'a snapshot taken mid-way still reads its state after the compactions');
    snap!.snapshot.release();
    t.same(diff(model, await dump(db)), [], 'the DB equals the model');
  } finally {
    await db.close();
  }
  db = await DB.open(dir, { ...SMALL, backgroundThread: false });
  try {
    t.same(diff(model, await dump(db)), [], 'after reopen (tables read on the main thread), every key equals the model');
  } finally {
    await db.close();
  }
});

t.test('close() during a compaction on the worker aborts it; every acknowledged write survives', async (t) => {
  const dir = tempDir(t);
  let db = await DB.open(dir, { ...SMALL, autoCompact: false });
  let model: Model;
  try {
    model = await fill(db, 3000, 'a');
    for (const [k, v] of await fill(db, 1500, 'b')) model.set(k, v);
    const bt = db.backgroundThreadForTests!;
    let closing: Promise<void> | undefined;
    bt.onJobPosted = (kind) => {
      // The compaction is in the worker now; the caller closes a moment later, from its own task.
      if (kind === 'compact') {
        setImmediate(() => {
          closing ??= db.close();
        });
      }
    };
    const ended = await db.compactRange().then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );
    t.ok(ended === 'resolved' || ended === 'LSM_CLOSED', `compactRange ends (${ended})`);
    t.ok(closing !== undefined, 'close() was called while the compaction ran');
    await closing;
    t.equal(bt.abortedJobs, 1, 'the worker stopped the compaction and removed its outputs');
  } finally {
    await db.close();
  }
  db = await DB.open(dir);
  try {
    t.same(diff(model, await dump(db)), [], 'every acknowledged write is there after reopen');
    await db.compactRange();
    t.same(diff(model, await dump(db)), [], 'and after a full compaction');
  } finally {
    await db.close();
  }
});

t.test('a worker killed under a job: the job is retried on a new worker and later work succeeds', async (t) => {
  const dir = tempDir(t);
  let db = await DB.open(dir, SMALL);
  let model: Model;
  try {
    const bt = db.backgroundThreadForTests!;
    let kills = 0;
    bt.onJobPosted = (_kind, worker) => {
      if (kills++ === 0) void worker.terminate();
    };
    model = await fill(db, 2000, 'a');
    await db.waitForCompaction();
    t.equal(bt.crashes, 1, 'the worker died once under a job');
    t.equal(bt.workersStarted, 2, 'a new worker took over');
    t.ok(db.stats().flushes > 0 && db.stats().compactions + db.stats().trivialMoves > 0, 'flushes and compactions went on');
    for (const [k, v] of await fill(db, 500, 'b')) model.set(k, v);
    t.same(diff(model, await dump(db)), [], 'writes are still taken and read back');
  } finally {
    await db.close();
  }
  db = await DB.open(dir);
  try {
    t.same(diff(model, await dump(db)), [], 'every key after reopen');
  } finally {
    await db.close();
  }
});

t.test('a worker killed under every attempt: the job fails as the background error; reads go on; reopen has every write', async (t) => {
  const dir = tempDir(t);
  let db = await DB.open(dir, { ...SMALL, autoCompact: false });
  let model: Model;
  try {
    model = await fill(db, 50, 'a'); // fits in the memtable: no flush yet
    const bt = db.backgroundThreadForTests!;
    bt.onJobPosted = (_kind, worker) => void worker.terminate();
    const err = await db.compactRange().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof IOError, 'the flush fails with an IOError');
    t.match((err as Error).message, /background thread stopped during a flush/);
    t.equal(bt.crashes, 3, 'after three attempts');
    await t.rejects(db.put(Buffer.from('x'), Buffer.from('y')), { code: 'LSM_IO' }, 'writes are refused with it');
    t.same(diff(model, await dump(db)), [], 'reads still answer from the memtables');
  } finally {
    await db.close();
  }
  db = await DB.open(dir);
  try {
    t.same(diff(model, await dump(db)), [], 'every acknowledged write after reopen (replayed from the WAL)');
  } finally {
    await db.close();
  }
});

t.test('a corrupt input table fails the compaction with a CorruptionError naming the file', async (t) => {
  const dir = tempDir(t);
  const db = await DB.open(dir, { ...SMALL, autoCompact: false });
  try {
    await fill(db, 1000, 'a');
    await db.waitForFlush();
    const tables = fs.readdirSync(dir).filter((f) => f.endsWith('.sst')).sort();
    t.ok(tables.length >= 2, `${tables.length} L0 tables`);
    const victim = path.join(dir, tables[0]!);
    const bytes = fs.readFileSync(victim);
    bytes[20] = bytes[20]! ^ 0xff; // inside the first data block
    fs.writeFileSync(victim, bytes);
    const err = await db.compactRange().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof CorruptionError, `a CorruptionError (${String(err)})`);
    t.equal((err as CorruptionError).file, victim, 'naming the damaged table');
    t.equal(db.backgroundThreadForTests!.crashes, 0, 'the worker itself did not die');
  } finally {
    await db.close();
  }
});

t.test('a process started with V8 flags (--max-old-space-size) still flushes and compacts on its worker', (t) => {
  const dir = tempDir(t);
  // Node refuses V8 and per-process flags in a worker's execArgv; the DB must start its worker anyway.
  const script = `
    import { DB } from ${JSON.stringify(new URL('../../lsm/index.js', import.meta.url).href)};
    const db = await DB.open(${JSON.stringify(dir)}, ${JSON.stringify(SMALL)});
    for (let i = 0; i < 2000; i++) await db.put(Buffer.from('k' + i), Buffer.alloc(100, i % 251));
    await db.compactRange();
    const s = db.stats();
    const ok = (await db.get(Buffer.from('k1999')))?.equals(Buffer.alloc(100, 1999 % 251));
    console.log(JSON.stringify({ flushes: s.flushes, workers: db.backgroundThreadForTests.workersStarted, ok }));
    await db.close();`;
  const flags = ['--max-old-space-size=256', '--stack-trace-limit=20', '--enable-source-maps'];
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, `exits 0 ${r.stderr.split('\n').find((l) => /Error/.test(l)) ?? ''}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const out = (last.startsWith('{') ? JSON.parse(last) : {}) as { flushes?: number; workers?: number; ok?: boolean };
  t.ok((out.flushes ?? 0) > 0, `memtables were flushed (${out.flushes})`);
  t.equal(out.workers, 1, 'by one worker, started once');
  t.equal(out.ok, true, 'the last write reads back');
  t.end();
});
