/**
 * Leveled compaction, seen from the outside: space comes back after overwrites, reads stay right and
 * are served while a compaction is in the middle, snapshots keep their view, deletions stay deleted
 * once compacted to the bottom, a crash in the middle of a compaction loses nothing acknowledged, and
 * a write flood is slowed and then stopped by the L0 file count (with the stalls counted).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { DB, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import type { DBOptions, RandomAccessFile, WritableFile } from '../../lsm/index.js';
import { waitFor } from '../support/wait.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const key16 = (i: number): Buffer => Buffer.from(String(i).padStart(16, '0'), 'latin1');
const b = (s: string): Buffer => Buffer.from(s);

/** Size of every file in a directory. */
function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

t.test('overwriting 200,000 keys 10 times: after compaction the directory is <= 1.5x the live data', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-space-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const N = 200_000;
  const ROUNDS = 10;
  // Uncompressed: the bound below compares table bytes with the raw live data.
  const db = await DB.open(dir, { compression: 'none' });
  t.teardown(() => db.close());
  const value = (round: number, i: number): Buffer => Buffer.alloc(100, (round * 31 + i) % 251);
  let maxL0 = 0;
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < N; i += 1000) {
      const batch = new WriteBatch();
      for (let j = i; j < i + 1000; j++) batch.put(key16(j), value(round, j));
      await db.write(batch, { sync: false });
      maxL0 = Math.max(maxL0, db.stats().levelFiles[0]!);
    }
  }
  const wrote = Date.now() - started;
  await db.waitForCompaction();
  const live = N * (16 + 100);
  const settled = dirBytes(dir);
  await db.compactRange();
  const compacted = dirBytes(dir);
  const s = db.stats();
  t.comment(
    `space: ${(compacted / live).toFixed(2)}x live data after compactRange (${compacted} bytes for ${live}), ` +
      `${(settled / live).toFixed(2)}x once scores were < 1; writes took ${wrote} ms; ` +
      `write amplification ${s.writeAmplification.toFixed(2)}, ${s.compactions} compactions + ${s.trivialMoves} moves, ` +
      `${s.stallCount} stalls (${s.slowdowns} slowdowns, ${s.stops} stops) for ${Math.round(s.stallMs)} ms, max L0 ${maxL0}`,
  );
  t.ok(compacted <= 1.5 * live, `directory ${compacted} bytes <= 1.5 x ${live} live bytes`);
  t.ok(s.compactions > 0, 'compactions ran in the background');
  t.ok(maxL0 <= 12, `L0 stayed bounded by the stop trigger (at most ${maxL0} files)`);
  t.equal(s.levelFiles[0], 0, 'compactRange emptied L0');
  t.equal(s.levelBytes.reduce((a, n) => a + n, 0) > live * 0.9, true, 'the tables hold the live data');
  let n = 0;
  let wrong = 0;
  for await (const [k, v] of db.iterator()) {
    if (!k.equals(key16(n)) || !v.equals(value(ROUNDS - 1, n))) wrong++;
    n++;
  }
  t.equal(n, N, 'every key once');
  t.equal(wrong, 0, 'every key has its last value');
});

/**
 * A MemFileSystem whose table syncs (armed) and table opens for reading (armed separately) wait for
 * the test to let them go: a compaction held in the middle.
 */
class GatedFs extends MemFileSystem {
  syncArmed = false;
  openArmed = false;
  syncsWaiting = 0;
  opensWaiting = 0;
  private open: () => void = () => {};
  private gate = this.newGate();

  private newGate(): Promise<void> {
    return new Promise<void>((resolve) => (this.open = resolve));
  }

  release(): void {
    this.syncArmed = false;
    this.openArmed = false;
    this.open();
    this.gate = this.newGate();
  }

  override async openWritable(p: string): Promise<WritableFile> {
    const f = await super.openWritable(p);
    if (!p.endsWith('.sst')) return f;
    return {
      append: (d) => f.append(d),
      sync: async () => {
        if (this.syncArmed) {
          this.syncsWaiting++;
          await this.gate;
          this.syncsWaiting--;
        }
        await f.sync();
      },
      close: () => f.close(),
      get size() {
        return f.size;
      },
    };
  }

  override async openRandomAccess(p: string): Promise<RandomAccessFile> {
    if (this.openArmed && p.endsWith('.sst')) {
      this.opensWaiting++;
      await this.gate;
      this.opensWaiting--;
    }
    return super.openRandomAccess(p);
  }
}

const SMALL: DBOptions = { writeBufferSize: 8 * 1024, blockSize: 512, targetFileSize: 16 * 1024, maxBytesForLevelBase: 64 * 1024 };

/** A database with several L0 tables and nothing in the memtable (it was reopened), compaction off. */
async function withL0Tables(t: Tap, gfs: GatedFs): Promise<{ db: DB; model: Map<string, string> }> {
  const model = new Map<string, string>();
  let db = await DB.open('/db', { fs: gfs, ...SMALL, autoCompact: false });
  for (let i = 0; i < 3000; i++) {
    const k = `k${String((i * 7919) % 1000).padStart(4, '0')}`;
    if (i % 10 === 9) {
      await db.del(b(k));
      model.delete(k);
    } else {
      const v = `${k}-v${i}`.padEnd(40, '.');
      await db.put(b(k), b(v));
      model.set(k, v);
    }
  }
  await db.close();
  db = await DB.open('/db', { fs: gfs, ...SMALL, autoCompact: false });
  t.teardown(() => db.close().catch(() => {}));
  t.ok(db.stats().levelFiles[0]! >= 8, `${db.stats().levelFiles[0]} L0 tables to compact`);
  return { db, model };
}

async function checkAll(t: Tap, db: DB, model: Map<string, string>, what: string): Promise<void> {
  let bad = 0;
  for (let i = 0; i < 1000; i++) {
    const k = `k${String(i).padStart(4, '0')}`;
    if ((await db.get(b(k)))?.toString() !== model.get(k)) bad++;
  }
  const scanned: string[] = [];
  for await (const [k, v] of db.iterator()) scanned.push(`${k.toString()}=${v.toString()}`);
  const want = [...model.entries()].sort(([a], [c]) => (a < c ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  t.equal(bad, 0, `${what}: every get right`);
  t.same(scanned, want, `${what}: a scan sees exactly the model`);
}

t.test('reads and writes go on while a compaction is in the middle; the result reads the same', async (t) => {
  const gfs = new GatedFs();
  const { db, model } = await withL0Tables(t, gfs);
  const snap = db.snapshot();
  gfs.syncArmed = true;
  const compacting = db.compactRange();
  await waitFor(() => gfs.syncsWaiting > 0, 10_000, 'a compaction output waiting for its sync');
  await checkAll(t, db, model, 'during the compaction');
  await db.put(b('k0001'), b('new during compaction'));
  model.set('k0001', 'new during compaction');
  t.equal((await db.get(b('k0001')))?.toString(), 'new during compaction', 'a write completed during the compaction');
  t.ok(db.stats().levelFiles[0]! >= 8, 'the compaction is not installed yet');
  gfs.release();
  await compacting;
  const s = db.stats();
  t.equal(s.levelFiles[0], 0, 'L0 compacted away');
  t.ok(s.levelFiles[1]! > 1, `output split into ${s.levelFiles[1]} tables of ~16 KiB`);
  await checkAll(t, db, model, 'after the compaction');
  t.not((await db.get(b('k0001'), { snapshot: snap }))?.toString(), 'new during compaction', 'the snapshot does not see the newer write');
  snap.release();
  t.ok(s.compactionBytesWritten > 0 && s.compactionBytesRead > s.compactionBytesWritten, 'overwritten versions were dropped');
});

t.test('a crash in the middle of a compaction loses nothing; its half-written outputs are removed', async (t) => {
  const gfs = new GatedFs();
  const { db, model } = await withL0Tables(t, gfs);
  const before = (await gfs.list('/db')).filter((f) => f.endsWith('.sst')).sort();
  gfs.syncArmed = true;
  const compacting = db.compactRange().catch((err: unknown) => err);
  await waitFor(() => gfs.syncsWaiting > 0, 10_000, 'a compaction output waiting for its sync');
  gfs.crash();
  gfs.release();
  await compacting;
  await db.close().catch(() => {});
  const db2 = await DB.open('/db', { fs: gfs, ...SMALL, autoCompact: false });
  t.teardown(() => db2.close());
  await checkAll(t, db2, model, 'after the crash');
  const after = (await gfs.list('/db')).filter((f) => f.endsWith('.sst')).sort();
  t.same(after, before, 'the inputs are intact and no output of the unfinished compaction is left');
  await db2.compactRange();
  await checkAll(t, db2, model, 'after compacting on the recovered database');
});

t.test('snapshots taken before compactions keep their data; deleted keys stay deleted at the bottom', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem(), ...SMALL });
  t.teardown(() => db.close());
  const v = (i: number, gen: string): Buffer => b(`${gen}-${i}`.padEnd(60, '#'));
  const k = (i: number): Buffer => b(`key${String(i).padStart(5, '0')}`);
  const N = 2000;
  for (let i = 0; i < N; i++) await db.put(k(i), v(i, 'old'));
  const snap = db.snapshot();
  for (let i = 0; i < N; i++) {
    if (i % 2 === 0) await db.del(k(i));
    else await db.put(k(i), v(i, 'new'));
  }
  await db.compactRange();
  await db.waitForCompaction();
  t.ok(db.stats().compactions > 0, 'compactions ran');
  let bad = 0;
  for (let i = 0; i < N; i++) {
    if ((await db.get(k(i), { snapshot: snap }))?.toString() !== v(i, 'old').toString()) bad++;
    const want = i % 2 === 0 ? undefined : v(i, 'new').toString();
    if ((await db.get(k(i)))?.toString() !== want) bad++;
  }
  t.equal(bad, 0, 'the snapshot sees the old values, the current state the new ones and the deletions');
  let seen = 0;
  for await (const _ of db.iterator({ snapshot: snap })) seen++;
  t.equal(seen, N, 'a snapshot scan sees every old key');
  const withSnapshot = db.stats().levelBytes.reduce((a, n) => a + n, 0);
  snap.release();
  await db.compactRange();
  const s = db.stats();
  const bytes = s.levelBytes.reduce((a, n) => a + n, 0);
  t.ok(bytes < withSnapshot * 0.45, `once the snapshot is released, old versions and tombstones go (${withSnapshot} -> ${bytes} bytes)`);
  t.equal(s.levelFiles.filter((n) => n > 0).length, 1, `all data in one level: ${db.describeVersion()}`);
  let live = 0;
  for await (const [key] of db.iterator()) {
    live++;
    if (Number(key.toString().slice(3)) % 2 === 0) t.fail(`deleted key ${key.toString()} is back`);
  }
  t.equal(live, N / 2, 'exactly the undeleted keys remain');
  for (let i = 0; i < N; i += 2) if ((await db.get(k(i))) !== undefined) bad++;
  t.equal(bad, 0, 'deleted keys stay deleted after compaction to the bottom level');
});

t.test('a tombstone above older data in a deeper level is kept until it reaches that level', async (t) => {
  const mfs = new MemFileSystem();
  let db = await DB.open('/db', { fs: mfs, ...SMALL });
  t.teardown(() => db.close());
  // Push "doomed" down to the deepest level, then delete it and compact only the upper levels.
  await db.put(b('doomed'), b('old value'));
  for (let i = 0; i < 3000; i++) await db.put(b(`fill${String(i).padStart(5, '0')}`), Buffer.alloc(50, i % 251));
  await db.compactRange();
  await db.waitForCompaction();
  const deepest = db.stats().levelFiles.findLastIndex((n) => n > 0);
  t.ok(deepest >= 2, `data spread to L${deepest}: ${db.describeVersion()}`);
  await db.del(b('doomed'));
  for (let i = 0; i < 3000; i++) await db.put(b(`gill${String(i).padStart(5, '0')}`), Buffer.alloc(50, i % 251));
  await db.waitForCompaction();
  t.equal(await db.get(b('doomed')), undefined, 'deleted while compactions move things around');
  await db.close();
  db = await DB.open('/db', { fs: mfs, ...SMALL });
  t.equal(await db.get(b('doomed')), undefined, 'still deleted after reopen');
  await db.compactRange(b('doomed'), b('doomed'));
  t.equal(await db.get(b('doomed')), undefined, 'still deleted after compacting its range to the bottom');
});

t.test('a write flood is slowed, then stopped, while compaction cannot keep up; stalls are counted', async (t) => {
  const gfs = new GatedFs();
  const db = await DB.open('/db', { fs: gfs, writeBufferSize: 4096, l0CompactionTrigger: 2, l0SlowdownTrigger: 3, l0StopTrigger: 5 });
  t.teardown(() => db.close());
  // Compactions cannot open their input tables until the gate opens (flushes never read tables).
  gfs.openArmed = true;
  const v = Buffer.alloc(200, 0x76);
  let i = 0;
  let pending: Promise<void> | undefined;
  // The same 40 keys over and over: every table overlaps the others, so none can just be moved down.
  const k = (n: number): Buffer => b(`k${String(n % 40).padStart(5, '0')}`);
  while (pending === undefined && i < 10_000) {
    const p = db.put(k(i++), v);
    let done = false;
    void p.then(() => (done = true));
    await waitFor(() => done || db.stats().stops > 0, 10_000, 'the write or a stop');
    if (!done) pending = p;
  }
  t.ok(pending !== undefined, `writes stopped after ${i} puts`);
  const s = db.stats();
  t.equal(s.levelFiles[0], 5, 'L0 grew to the stop trigger and no further');
  t.ok(s.slowdowns > 0, `${s.slowdowns} write groups were slowed down first`);
  t.equal(s.stops, 1, 'a writer waits for compaction');
  t.ok(gfs.opensWaiting > 0, 'the compaction is waiting for its inputs');
  t.equal((await db.get(k(i - 2)))?.length, 200, 'reads of the memtable still answer');
  gfs.release();
  await pending;
  t.pass('the stopped write completed once a compaction did');
  await db.waitForCompaction();
  const after = db.stats();
  t.ok(after.levelFiles[0]! < 2, `L0 drained to ${after.levelFiles[0]} files`);
  t.ok(after.stallMs > 0 && after.stallCount >= after.slowdowns + after.stops, `stall time counted (${Math.round(after.stallMs)} ms)`);
  for (let n = 0; n < 40; n++) t.equal((await db.get(k(n)))?.length, 200, `k${n} readable`);
});

t.test('writers beyond maxQueuedWriteBytes wait for room; all complete in order', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem(), maxQueuedWriteBytes: 4096 });
  t.teardown(() => db.close());
  const order: number[] = [];
  // The first write syncs, so the group commit is busy and the rest queue (unsynced writes that find
  // the queue empty would commit inline, without queueing at all).
  const ps = Array.from({ length: 200 }, (_, i) =>
    db.put(b(`q${String(i).padStart(4, '0')}`), Buffer.alloc(100, i), { sync: i === 0 }).then(() => order.push(i)),
  );
  const s = db.stats();
  t.ok(s.queuedWriteBytes <= 4096, `queue holds ${s.queuedWriteBytes} bytes, at most the limit`);
  t.ok(s.queueWaits > 100, `${s.queueWaits} writers waited for room`);
  await Promise.all(ps);
  t.same(order, Array.from({ length: 200 }, (_, i) => i), 'acknowledged in call order');
  t.equal(db.stats().queuedWriteBytes, 0);
  t.equal((await db.get(b('q0199')))?.length, 100);
});

t.test('compaction options are validated', async (t) => {
  await t.rejects(DB.open('/db', { fs: new MemFileSystem(), l0SlowdownTrigger: 2, l0StopTrigger: 1 }), { code: 'LSM_INVALID_ARGUMENT' });
  await t.rejects(DB.open('/db', { fs: new MemFileSystem(), targetFileSize: 0 }), { code: 'LSM_INVALID_ARGUMENT' });
});
