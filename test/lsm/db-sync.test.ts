/**
 * DB.sync(): unsynced writes followed by sync() survive a power loss (MemFileSystem.crash()), and a
 * sync() with nothing unsynced costs no fdatasync. The cluster's replicas write unsynced and call it on a
 * timer, so it is what bounds their loss window.
 */
import t from 'tap';
import { ClosedError, DB, MemFileSystem } from '../../lsm/index.js';

const key = (i: number): Buffer => Buffer.from(String(i).padStart(8, '0'));
const value = (i: number): Buffer => Buffer.from(`value ${i}`);

async function countPresent(fs: MemFileSystem, n: number): Promise<number> {
  const db = await DB.open('/db', { fs });
  let present = 0;
  for (let i = 0; i < n; i++) if ((await db.get(key(i)))?.equals(value(i)) === true) present++;
  await db.close();
  return present;
}

t.test('unsynced writes are lost in a power loss unless sync() ran after them', async (t) => {
  const lost = new MemFileSystem();
  let db = await DB.open('/db', { fs: lost });
  for (let i = 0; i < 100; i++) await db.put(key(i), value(i));
  lost.crash();
  await db.close().catch(() => {});
  t.equal(await countPresent(lost, 100), 0, 'without sync(), a power loss takes the unsynced writes (the model is real)');

  const kept = new MemFileSystem();
  db = await DB.open('/db', { fs: kept });
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) pending.push(db.put(key(i), value(i))); // inline and queued alike
  await Promise.all(pending);
  await db.sync();
  kept.crash();
  await db.close().catch(() => {});
  t.equal(await countPresent(kept, 100), 100, 'after sync(), every acknowledged write survives');
});

t.test('sync() fdatasyncs only when something was written since the last one', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem() });
  t.teardown(() => db.close());
  const syncs = (): number => db.stats().walSyncs;
  await db.sync();
  t.equal(syncs(), 0, 'nothing written: no fdatasync');
  await db.put(key(1), value(1));
  await db.sync();
  t.equal(syncs(), 1, 'one unsynced write: one fdatasync');
  await db.sync();
  t.equal(syncs(), 1, 'again with nothing new: none');
  await db.put(key(2), value(2), { sync: true });
  const afterSyncWrite = syncs();
  await db.sync();
  t.equal(syncs(), afterSyncWrite, 'a sync write already covered everything before it');
  const both = [db.put(key(3), value(3)), db.sync(), db.sync()];
  await Promise.all(both);
  t.ok(syncs() - afterSyncWrite <= 2, 'sync() calls queued together share fdatasyncs');
});

t.test('sync() on a closed database rejects with ClosedError', async (t) => {
  const db = await DB.open('/db', { fs: new MemFileSystem() });
  await db.put(key(1), value(1));
  await db.close();
  await t.rejects(db.sync(), ClosedError);
});
