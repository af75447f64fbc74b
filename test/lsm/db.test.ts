import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { ClosedError, DB, InvalidArgumentError, LockedError, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import type { IteratorOptions, WritableFile } from '../../lsm/index.js';
import { exited, killAndWait } from '../support/processes.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (v: Buffer | undefined): string | undefined => v?.toString();

function tmpDir(t: Tap): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-db-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function openMem(t: Tap, options: Parameters<typeof DB.open>[1] = {}): Promise<{ db: DB; mfs: MemFileSystem }> {
  const mfs = new MemFileSystem();
  const db = await DB.open('/db', { fs: mfs, ...options });
  t.teardown(() => db.close().catch(() => {}));
  return { db, mfs };
}

async function nextKey(it: AsyncIterator<[Buffer, Buffer]>): Promise<string | undefined> {
  const r = await it.next();
  return r.done === true ? undefined : r.value[0].toString();
}

async function collect(db: DB, opts?: IteratorOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of db.iterator(opts)) out.push(`${k.toString()}=${v.toString()}`);
  return out;
}

t.test('put, get, del, batch; empty values; missing keys', async (t) => {
  const { db } = await openMem(t);
  await db.put(b('a'), b('1'));
  await db.put(b('b'), Buffer.alloc(0));
  t.equal(str(await db.get(b('a'))), '1');
  t.same(await db.get(b('b')), Buffer.alloc(0), 'an empty value is a value, not a miss');
  t.equal(await db.get(b('zz')), undefined, 'missing key');
  await db.put(b('a'), b('2'));
  t.equal(str(await db.get(b('a'))), '2', 'overwrite');
  await db.del(b('a'));
  t.equal(await db.get(b('a')), undefined, 'deleted');
  await db.del(b('never-there'));
  const batch = new WriteBatch().put(b('x'), b('1')).put(b('y'), b('2')).del(b('b')).put(b('x'), b('3'));
  await db.write(batch);
  t.equal(str(await db.get(b('x'))), '3', 'later entry of a batch wins');
  t.equal(str(await db.get(b('y'))), '2');
  t.equal(await db.get(b('b')), undefined);
  await db.write(new WriteBatch(), { sync: true });
  t.same(await collect(db), ['x=3', 'y=2']);
});

t.test('keys and values must be bytes; buffers are copied', async (t) => {
  const { db } = await openMem(t);
  const bad: unknown[] = ['a', 1, null, undefined, {}, [1, 2]];
  for (const v of bad) {
    await t.rejects(db.put(v as Buffer, b('v')), InvalidArgumentError, `put key ${String(v)}`);
    await t.rejects(db.put(b('k'), v as Buffer), InvalidArgumentError, `put value ${String(v)}`);
    await t.rejects(db.get(v as Buffer), InvalidArgumentError, `get key ${String(v)}`);
    await t.rejects(db.del(v as Buffer), InvalidArgumentError, `del key ${String(v)}`);
  }
  await t.rejects(db.write({} as WriteBatch), InvalidArgumentError);
  await t.rejects(db.put(b('k'), b('v'), { sync: 'yes' as unknown as boolean }), InvalidArgumentError);
  t.throws(() => db.iterator({ gt: 'a' as unknown as Buffer }), InvalidArgumentError);
  t.throws(() => db.iterator({ limit: Number.NaN }), InvalidArgumentError);
  t.rejects(DB.open('/x', { fs: new MemFileSystem(), writeBufferSize: -1 }), InvalidArgumentError);

  // A Uint8Array view into a larger buffer, reused afterwards, as a network buffer would be.
  const net = Buffer.from('....key1value1....');
  await db.put(new Uint8Array(net.buffer, net.byteOffset + 4, 4), net.subarray(8, 14));
  net.fill(0x2e);
  t.equal(str(await db.get(b('key1'))), 'value1', 'the stored bytes are a copy');
  const got = (await db.get(b('key1')))!;
  got.fill(0);
  t.equal(str(await db.get(b('key1'))), 'value1', 'the returned value is a copy too');
  const batch = new WriteBatch().put(b('k2'), b('before'));
  const pending = db.write(batch);
  batch.clear();
  batch.put(b('k2'), b('after'));
  await pending;
  t.equal(str(await db.get(b('k2'))), 'before', 'write() copies the batch');
});

t.test('LOCK: one open at a time; a stale lock is taken over', async (t) => {
  const dir = tmpDir(t);
  const db = await DB.open(dir);
  await t.rejects(DB.open(dir), LockedError, 'second open in the same process');
  await db.put(b('k'), b('v'));
  await db.close();
  const again = await DB.open(dir);
  t.equal(str(await again.get(b('k'))), 'v', 'reopened after close');
  await again.close();

  // A LOCK naming a live process (a child that waits) is refused; a dead one's is stale.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.teardown(() => killAndWait(child));
  fs.writeFileSync(path.join(dir, 'LOCK'), `${child.pid}\n`);
  await t.rejects(DB.open(dir), LockedError, 'held by another live process');
  await killAndWait(child);
  await exited(child);
  const taken = await DB.open(dir);
  t.equal(str(await taken.get(b('k'))), 'v', 'stale lock of a dead process taken over');
  await taken.close();
});

t.test('snapshots see a frozen view while writes and flushes go on', async (t) => {
  const { db } = await openMem(t, { writeBufferSize: 2048 });
  await db.put(b('a'), b('1'));
  await db.put(b('b'), b('1'));
  const snap = db.snapshot();
  await db.put(b('a'), b('2'));
  await db.del(b('b'));
  await db.put(b('c'), b('2'));
  for (let i = 0; i < 300; i++) await db.put(b(`fill${String(i).padStart(4, '0')}`), Buffer.alloc(50, 1));
  await db.waitForFlush();
  t.ok(db.stats().flushes > 0, 'memtables were flushed meanwhile');
  t.equal(str(await db.get(b('a'), { snapshot: snap })), '1');
  t.equal(str(await db.get(b('b'), { snapshot: snap })), '1');
  t.equal(await db.get(b('c'), { snapshot: snap }), undefined);
  t.same(await collect(db, { snapshot: snap }), ['a=1', 'b=1']);
  t.equal(str(await db.get(b('a'))), '2', 'the latest view moved on');
  t.equal(await db.get(b('b')), undefined);
  snap.release();
  await t.rejects(db.get(b('a'), { snapshot: snap }), InvalidArgumentError, 'a released snapshot is refused');
});

t.test('iterator: bounds, reverse, limit, seek', async (t) => {
  const { db } = await openMem(t, { writeBufferSize: 1024 });
  const keys = Array.from({ length: 60 }, (_, i) => `k${String(i * 2).padStart(3, '0')}`); // k000, k002, ... k118
  for (const k of keys) await db.put(b(k), b(k.toUpperCase()));
  await db.del(b('k010'));
  await db.waitForFlush();
  const live = keys.filter((k) => k !== 'k010');
  const model = (o: IteratorOptions): string[] => {
    let out = live.filter(
      (k) =>
        (o.gt === undefined || k > o.gt.toString()) &&
        (o.gte === undefined || k >= o.gte.toString()) &&
        (o.lt === undefined || k < o.lt.toString()) &&
        (o.lte === undefined || k <= o.lte.toString()),
    );
    if (o.reverse === true) out = out.reverse();
    if (o.limit !== undefined && o.limit >= 0) out = out.slice(0, o.limit);
    return out.map((k) => `${k}=${k.toUpperCase()}`);
  };
  const probes = ['k000', 'k009', 'k010', 'k011', 'k050', 'k118', 'k119', 'a', 'z'];
  let cases = 0;
  for (const reverse of [false, true]) {
    for (const lo of [undefined, ...probes]) {
      for (const hi of [undefined, 'k020', 'k057', 'k118', 'z']) {
        for (const [lowName, highName] of [
          ['gte', 'lte'],
          ['gt', 'lt'],
        ] as const) {
          const o: IteratorOptions = { reverse };
          if (lo !== undefined) o[lowName] = b(lo);
          if (hi !== undefined) o[highName] = b(hi);
          if (cases % 3 === 0) o.limit = 4;
          t.same(await collect(db, o), model(o), JSON.stringify({ reverse, lo, hi, lowName, limit: o.limit }));
          cases++;
        }
      }
    }
  }
  t.same(await collect(db, { limit: 0 }), [], 'limit 0');

  const it = db.iterator({ gte: b('k020'), lt: b('k100') });
  it.seek(b('k051'));
  t.equal(await nextKey(it), 'k052', 'seek to a missing key goes to the next');
  it.seek(b('k000'));
  t.equal(await nextKey(it), 'k020', 'seek below the lower bound stops at the bound');
  it.seek(b('k200'));
  t.equal((await it.next()).done, true, 'seek past the upper bound ends the iteration');
  const rit = db.iterator({ reverse: true });
  rit.seek(b('k051'));
  t.equal(await nextKey(rit), 'k050', 'reverse seek goes to the last key <= target');
  t.equal(await nextKey(rit), 'k048');
  await rit.close();
  await t.rejects(rit.next().then((r) => (r.done ? Promise.reject(new Error('done')) : r)), /done/, 'closed iterator is done');
});

t.test('a long scan yields to the event loop', async (t) => {
  const { db } = await openMem(t);
  const batch = new WriteBatch();
  for (let i = 0; i < 2000; i++) batch.put(b(`k${String(i).padStart(5, '0')}`), b('v'));
  await db.write(batch);
  // A macrotask that reschedules itself: it only runs if the scan gives the event loop a turn.
  let ticks = 0;
  let running = true;
  const tick = (): void => {
    ticks++;
    if (running) setImmediate(tick);
  };
  let n = 0;
  let ticksDuring = 0;
  const it = db.iterator();
  await it.next(); // opens the view
  n++;
  setImmediate(tick);
  ticks = 0;
  for await (const _ of it) {
    n++;
    ticksDuring = ticks;
  }
  running = false;
  t.equal(n, 2000);
  t.ok(ticksDuring >= 2000 / 256 - 2, `other tasks ran during the scan (${ticksDuring} turns)`);
});

t.test('an open iterator keeps its view and its tables across flushes', async (t) => {
  const { db, mfs } = await openMem(t, { writeBufferSize: 1024 });
  for (let i = 0; i < 100; i++) await db.put(b(`a${String(i).padStart(3, '0')}`), Buffer.alloc(30, 0x61));
  await db.waitForFlush();
  const it = db.iterator();
  t.equal(await nextKey(it), 'a000');
  for (let i = 0; i < 100; i++) await db.del(b(`a${String(i).padStart(3, '0')}`));
  for (let i = 0; i < 200; i++) await db.put(b(`b${String(i).padStart(3, '0')}`), Buffer.alloc(30, 0x62));
  await db.waitForFlush();
  let n = 1;
  for await (const [k] of it) {
    t.equal(k[0], 0x61, 'only the old keys');
    n++;
  }
  t.equal(n, 100, 'the iterator saw the state it was created at');
  t.same(await collect(db, { lt: b('b') }), [], 'the new state has them deleted');
  t.ok((await mfs.list('/db')).filter((f) => f.endsWith('.sst')).length > 1);
});

/** A MemFileSystem whose table syncs wait until the test opens the gate: a flush that takes its time. */
class GatedFs extends MemFileSystem {
  private open: () => void = () => {};
  private gate: Promise<void> = new Promise((resolve) => (this.open = resolve));
  tableSyncsWaiting = 0;

  release(): void {
    this.open();
  }

  override async openWritable(p: string): Promise<WritableFile> {
    const f = await super.openWritable(p);
    if (!p.endsWith('.sst')) return f;
    return {
      append: (d) => f.append(d),
      sync: async () => {
        this.tableSyncsWaiting++;
        await this.gate;
        await f.sync();
      },
      close: () => f.close(),
      get size() {
        return f.size;
      },
    };
  }
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

t.test('writes go on during a flush; with both memtables full, writers wait (bounded memory)', async (t) => {
  const gfs = new GatedFs();
  const db = await DB.open('/db', { fs: gfs, writeBufferSize: 4096 });
  t.teardown(() => db.close());
  const v = Buffer.alloc(200, 0x76);
  let i = 0;
  // Fill the first memtable; the next write switches memtables and starts a flush that cannot finish.
  while (gfs.tableSyncsWaiting === 0) {
    await db.put(b(`k${String(i++).padStart(4, '0')}`), v);
    await turns(1);
  }
  const atSwitch = i;
  // The second memtable takes writes while the first is being flushed...
  while (db.stats().writeStalls === 0 && i < atSwitch + 100) {
    const p = db.put(b(`k${String(i++).padStart(4, '0')}`), v);
    let done = false;
    void p.then(() => (done = true));
    await turns(3);
    if (!done) {
      // ...until it is full too: this writer waits for the flush.
      t.ok(i - atSwitch > 5, `${i - atSwitch} writes went into the second memtable during the flush`);
      t.equal(db.stats().writeStalls, 1, 'the write loop waits for the flush');
      t.equal(str(await db.get(b('k0000'))), v.toString(), 'reads see the memtable being flushed');
      gfs.release();
      await p;
      t.pass('the waiting writer completed once the flush did');
    }
  }
  t.ok(db.stats().writeStalls >= 1, 'a stall happened');
  await db.waitForFlush();
  for (let k = 0; k < i; k += 7) t.equal(str(await db.get(b(`k${String(k).padStart(4, '0')}`))), v.toString(), `k${k}`);
});

t.test('group commit: concurrent sync writers share WAL records and syncs', async (t) => {
  const { db } = await openMem(t);
  const before = db.stats();
  await Promise.all(Array.from({ length: 200 }, (_, i) => db.put(b(`g${i}`), b(`${i}`), { sync: true })));
  const after = db.stats();
  t.equal(after.writers - before.writers, 200);
  t.ok(after.walSyncs - before.walSyncs < 200, `${after.walSyncs - before.walSyncs} syncs for 200 sync writes`);
  t.ok(after.walRecords - before.walRecords < 200, `${after.walRecords - before.walRecords} records`);
  for (let i = 0; i < 200; i += 37) t.equal(str(await db.get(b(`g${i}`))), `${i}`);
});

t.test('on disk: flushes to tables, reopen keeps everything, obsolete files go', async (t) => {
  const dir = tmpDir(t);
  let db = await DB.open(dir, { writeBufferSize: 8 * 1024 });
  const value = (i: number): Buffer => Buffer.alloc(100, i % 251);
  for (let i = 0; i < 1000; i++) await db.put(b(`key${String(i).padStart(5, '0')}`), value(i));
  for (let i = 0; i < 1000; i += 3) await db.del(b(`key${String(i).padStart(5, '0')}`));
  await db.waitForFlush();
  t.ok(db.stats().flushes > 3, `${db.stats().flushes} memtables flushed to tables (now ${db.describeVersion()})`);
  const ls = (): string[] => fs.readdirSync(dir).sort();
  t.equal(ls().filter((f) => f.endsWith('.log')).length, 1, 'only the live WAL remains after flushes');
  await db.close();
  fs.writeFileSync(path.join(dir, '999999.sst'), 'orphan'); // left by a crash mid-flush
  db = await DB.open(dir, { writeBufferSize: 8 * 1024 });
  for (let i = 0; i < 1000; i++) {
    const got = await db.get(b(`key${String(i).padStart(5, '0')}`));
    if (i % 3 === 0) {
      if (got !== undefined) t.fail(`key ${i} should be deleted`);
    } else if (got === undefined || !got.equals(value(i))) {
      t.fail(`key ${i} lost or wrong after reopen`);
    }
  }
  t.equal((await collect(db)).length, 666);
  const files = ls();
  t.notOk(files.includes('999999.sst'), 'orphan table deleted');
  t.equal(files.filter((f) => f.startsWith('MANIFEST-')).length, 1, 'one manifest');
  t.equal(files.filter((f) => f.endsWith('.log')).length, 1, 'one WAL');
  t.ok(files.includes('CURRENT') && files.includes('LOCK'));
  t.notOk(files.includes('CURRENT.tmp'));
  await db.close();
  t.notOk(fs.readdirSync(dir).includes('LOCK'), 'LOCK removed by close');
});

t.test('a file number found on disk is never given to a new file (orphans of a crash keep their names)', async (t) => {
  const dir = tmpDir(t);
  let db = await DB.open(dir, { writeBufferSize: 8 * 1024 });
  for (let i = 0; i < 300; i++) await db.put(b(`key${String(i).padStart(5, '0')}`), Buffer.alloc(100, i % 251));
  await db.close(); // the last memtable stays in the WAL: the reopen replays it into a new table
  const numbered = (re: RegExp): number[] => fs.readdirSync(dir).map((f) => re.exec(f)?.[1]).filter((n) => n !== undefined).map(Number);
  const tablesAndLogs = (): number[] => numbered(/^(\d+)\.(?:sst|log)$/);
  // Tables a crash left behind unlogged: the numbers right after every one handed out so far.
  const first = Math.max(...numbered(/^(?:MANIFEST-)?(\d+)(?:\.sst|\.log)?$/)) + 1;
  const orphans = [0, 1, 2, 3, 4].map((k) => first + k);
  for (const n of orphans) fs.writeFileSync(path.join(dir, `${String(n).padStart(6, '0')}.sst`), 'orphan');
  db = await DB.open(dir, { writeBufferSize: 8 * 1024 });
  for (let i = 300; i < 600; i++) await db.put(b(`key${String(i).padStart(5, '0')}`), Buffer.alloc(100, i % 251));
  await db.waitForFlush();
  const newer = tablesAndLogs().filter((n) => n >= first);
  t.ok(newer.length > 1, `WAL and tables made after the reopen: ${newer.join(', ')}`);
  t.same(newer.filter((n) => orphans.includes(n)), [], `none of them took an orphan's number (${orphans.join(', ')}), and the orphans are deleted`);
  t.equal((await collect(db)).length, 600, 'every key is there');
  await db.close();
});

t.test('after close: operations fail with ClosedError', async (t) => {
  const { db } = await openMem(t);
  await db.put(b('a'), b('1'));
  const it = db.iterator();
  await it.next();
  await db.close();
  await t.rejects(db.put(b('a'), b('2')), ClosedError);
  await t.rejects(db.get(b('a')), ClosedError);
  t.throws(() => db.iterator(), ClosedError);
  t.throws(() => db.snapshot(), ClosedError);
  await t.rejects(it.next(), ClosedError, 'an open iterator is closed with the DB');
  await db.close(); // idempotent
});

t.test('an empty unsynced batch (which commits without awaiting anything) does not stall later writes', async (t) => {
  const { db } = await openMem(t);
  await db.write(new WriteBatch());
  const later = Promise.all([db.put(Buffer.from('a'), Buffer.from('1')), db.write(new WriteBatch()), db.put(Buffer.from('b'), Buffer.from('2'))]);
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), 10_000)));
  t.equal(await Promise.race([later.then(() => 'done' as const), stalled]), 'done', 'later writes commit');
  clearTimeout(timer);
  t.equal(String(await db.get(Buffer.from('b'))), '2');
  await db.close();
});
