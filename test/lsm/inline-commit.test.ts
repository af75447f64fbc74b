/**
 * Unsynced writes committed inline (in the caller's task) and point reads that never leave it: the
 * answers and the order are the queue's, a failed WAL append is reported like any other, and a caller
 * that awaits them in a tight loop still lets the event loop turn (timers fire).
 */
import t from 'tap';
import { DB, MemFileSystem, WriteBatch } from '../../lsm/index.js';
import type { WritableFile } from '../../lsm/env.js';
import { LoopTurns } from '../../lsm/loop-turns.js';

const key = (i: number): Buffer => Buffer.from(String(i).padStart(8, '0'));

t.test('writes fired without awaiting land in call order, inline or queued', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem(), writeBufferSize: 64 << 10 });
  const pending: Promise<void>[] = [];
  // Same keys over and over, a sync write now and then (it queues, and the inline writes behind it too).
  const value = (i: number): Buffer => Buffer.from(`v${i}`.padEnd(400, '.'));
  for (let i = 0; i < 3000; i++) pending.push(db.put(key(i % 50), value(i), i % 97 === 96 ? { sync: true } : undefined));
  await Promise.all(pending);
  let wrong = 0;
  for (let k = 0; k < 50; k++) {
    const last = 2950 + k; // the last i with i % 50 === k
    if (!value(last).equals((await db.get(key(k))) ?? Buffer.alloc(0))) wrong++;
  }
  t.equal(wrong, 0, 'every key holds its last write');
  const s = db.stats();
  t.equal(s.writers, 3000, 'every write committed once');
  t.ok(s.flushes > 0, 'memtables flushed along the way');
  await db.close();
  const again = await DB.open('/db', { fs: (db as unknown as { o: { fs: MemFileSystem } }).o.fs });
  t.equal((await again.get(key(7)))?.toString().replace(/\.+$/, ''), 'v2957', 'the WAL and tables give back the last write');
  await again.close();
});

t.test('inline batches and deletes, and an empty batch', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem() });
  const b = new WriteBatch();
  b.put(key(1), Buffer.from('one')).put(key(2), Buffer.from('two')).del(key(1));
  await db.write(b);
  await db.write(new WriteBatch());
  await db.del(key(2));
  t.equal(await db.get(key(1)), undefined);
  t.equal(await db.get(key(2)), undefined);
  await db.put(key(3), Buffer.from('three'));
  t.equal((await db.get(key(3)))?.toString(), 'three');
  t.equal(b.count(), 3, "the caller's batch is left as it was");
  await db.close();
});

t.test('a failed inline WAL append rejects that write and every later one', async (t) => {
  const fs = new MemFileSystem();
  const db = await DB.open('/db', { fs });
  await db.put(key(1), Buffer.from('a'));
  fs.crash(); // the open WAL's handle is now stale: its next append fails
  await t.rejects(db.put(key(2), Buffer.from('b')), { code: 'LSM_IO' });
  await t.rejects(db.put(key(3), Buffer.from('c')), { code: 'LSM_IO' }, 'the engine takes no more writes');
  t.equal((await db.get(key(1)))?.toString(), 'a', 'reads keep working');
  t.equal(await db.get(key(2)), undefined, 'the failed write is not visible');
  await db.close().catch(() => {});
});

t.test('a tight loop of awaited puts and gets lets timers fire', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem(), writeBufferSize: 1 << 20 });
  let fired = 0;
  let worstGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
    fired++;
  }, 1);
  const start = performance.now();
  let i = 0;
  // Run for at least 300 ms of inline work (time, not a count: CI machines differ a lot).
  while (performance.now() - start < 300) {
    await db.put(key(i % 5000), Buffer.from('x'.repeat(100)));
    await db.get(key((i * 7) % 5000));
    i++;
  }
  clearInterval(timer);
  t.ok(fired >= 10, `the 1 ms interval fired ${fired} times during ${i} put+get pairs`);
  t.ok(worstGap < 250, `longest gap between its callbacks ${worstGap.toFixed(1)} ms`);
  await db.close();
});

t.test('LoopTurns: due after its slice, and one turn serves every waiter', async (t) => {
  const turns = new LoopTurns(0);
  let due = false;
  for (let i = 0; i < 16 && !due; i++) due = turns.due();
  t.ok(due, 'a 0 ms slice is due at the first clock check');
  const a = turns.turn();
  const b = turns.turn();
  t.equal(a, b, 'concurrent waiters share one turn');
  await a;
  t.notOk(turns.due(), 'not due right after a turn');
});

t.test('a get at a snapshot released right after the call still reads that snapshot', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem() });
  await db.put(key(1), Buffer.from('old'));
  let wrong = 0;
  // Enough gets that some fall due for an event-loop turn (every 2 ms of work).
  for (let i = 0; i < 20_000; i++) {
    const snap = db.snapshot();
    const p = db.get(key(1), { snapshot: snap });
    snap.release();
    if ((await p)?.toString() !== (i === 0 ? 'old' : `v${i - 1}`)) wrong++;
    await db.put(key(1), Buffer.from(`v${i}`));
  }
  t.equal(wrong, 0, 'every read saw the value at its snapshot');
  await db.close();
});

t.test('a lone sync writer fdatasyncs on the calling thread, unless inlineSync is false', async (t) => {
  /** Counts the WAL's fdatasyncs by where they run. */
  class CountingFs extends MemFileSystem {
    inline = 0;
    pooled = 0;
    override async openWritable(path: string): Promise<WritableFile> {
      const f = await super.openWritable(path);
      const syncSync = f.syncSync!.bind(f);
      const sync = f.sync.bind(f);
      let inSync = false; // MemFileSystem's sync() calls syncSync(): that one is not inline
      f.syncSync = () => {
        if (path.endsWith('.log') && !inSync) this.inline++;
        syncSync();
      };
      f.sync = async () => {
        if (path.endsWith('.log')) this.pooled++;
        inSync = true;
        try {
          await sync();
        } finally {
          inSync = false;
        }
      };
      return f;
    }
  }
  for (const inlineSync of [true, false]) {
    const fs = new CountingFs();
    const db = await DB.open('/db', { fs, inlineSync });
    for (let i = 0; i < 10; i++) await db.put(key(i), Buffer.from('v'), { sync: true });
    t.equal(inlineSync ? fs.inline : fs.pooled, 10, `inlineSync ${inlineSync}: 10 syncs ${inlineSync ? 'inline' : 'on the pool'}`);
    t.equal(inlineSync ? fs.pooled : fs.inline, 0, 'none the other way');
    await db.close();
  }
  await t.rejects(DB.open('/db', { fs: new MemFileSystem(), inlineSync: 'yes' as never }), { code: 'LSM_INVALID_ARGUMENT' });
});
