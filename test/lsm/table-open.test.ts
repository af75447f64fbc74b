/**
 * A point read that needs a table nobody has opened yet (after a reopen, or a compaction's new output)
 * opens a small one in the caller's task instead of waiting on the thread pool, which compactions keep
 * busy (lsm/table-cache.ts, tryAcquire). Big tables, and corrupted small ones, keep their old paths.
 */
import t from 'tap';
import { CorruptionError, DB, MemFileSystem } from '../../lsm/index.js';
import type { RandomAccessFile } from '../../lsm/env.js';
import { silentLogger } from '../../lsm/options.js';
import { TableCache } from '../../lsm/table-cache.js';
import { InternalKeyComparator, userKeyLength } from '../../lsm/dbformat.js';
import { FOOTER_SIZE } from '../../lsm/table/format.js';

class CountingFs extends MemFileSystem {
  asyncOpens = 0;
  syncOpens = 0;
  override async openRandomAccess(p: string): Promise<RandomAccessFile> {
    if (p.endsWith('.sst')) this.asyncOpens++;
    return super.openRandomAccess(p);
  }
  override openRandomAccessSync(p: string): RandomAccessFile {
    if (p.endsWith('.sst')) this.syncOpens++;
    return super.openRandomAccessSync(p);
  }
}

const key = (i: number): Buffer => Buffer.from(`key${String(i).padStart(6, '0')}`);
const val = (i: number): Buffer => Buffer.from(`value ${i} `.repeat(5));

/** A database of 2,000 keys in tables on disk, reopened so that no table is open. */
async function reopened(fs: CountingFs): Promise<DB> {
  let db = await DB.open('/db', { fs, writeBufferSize: 16 << 10, targetFileSize: 16 << 10 });
  for (let i = 0; i < 2000; i++) await db.put(key(i), val(i));
  await db.compactRange();
  await db.close();
  db = await DB.open('/db', { fs });
  return db;
}

t.test('a read that needs a small table not open yet opens it in the caller\'s task', async (t) => {
  const fs = new CountingFs();
  const db = await reopened(fs);
  t.teardown(() => db.close());
  fs.asyncOpens = 0;
  fs.syncOpens = 0;
  let wrong = 0;
  for (let i = 0; i < 2000; i += 7) if (!(await db.get(key(i)))?.equals(val(i))) wrong++;
  t.equal(wrong, 0, 'every read answers with its value');
  t.ok(fs.syncOpens > 1, `${fs.syncOpens} tables opened by reads`);
  t.equal(fs.asyncOpens, 0, 'no read waited for an open through the thread pool');
  t.equal(await db.get(Buffer.from('absent')), undefined);
});

t.test('a corrupted small table fails the read with CorruptionError; the next read tries again', async (t) => {
  const fs = new CountingFs();
  const db = await reopened(fs);
  t.teardown(() => db.close());
  const ssts = (await fs.list('/db')).filter((n) => n.endsWith('.sst')).map((n) => `/db/${n}`);
  t.ok(ssts.length > 0);
  for (const p of ssts) fs.corrupt(p, (await fs.size(p)) - FOOTER_SIZE + 2); // a footer handle byte
  await t.rejects(db.get(key(0)), CorruptionError);
  await t.rejects(db.get(key(0)), CorruptionError, 'not cached as open: tried again, failed again');
  for (const p of ssts) fs.corrupt(p, (await fs.size(p)) - FOOTER_SIZE + 2); // flip back
  t.ok((await db.get(key(0)))?.equals(val(0)), 'reads work once the bytes are right again');
});

t.test('a big table is left to the asynchronous open', async (t) => {
  const fs = new CountingFs();
  const db = await reopened(fs);
  await db.close();
  const [name] = (await fs.list('/db')).filter((n) => n.endsWith('.sst'));
  const number = Number(name!.slice(0, -4));
  const cache = new TableCache({
    fs, dir: '/db', comparator: new InternalKeyComparator(), filterKeyLength: userKeyLength,
    maxOpenFiles: 10, blockCacheSize: 1 << 20, verifyChecksums: true, logger: silentLogger,
  });
  fs.syncOpens = 0;
  t.equal(cache.tryAcquire(number, 64 << 20), undefined, 'a 64 MiB table is not opened on the reading thread');
  t.equal(fs.syncOpens, 0);
  const h = cache.tryAcquire(number, await fs.size(`/db/${name!}`));
  t.ok(h !== undefined, 'the same table at its real size is');
  cache.release(h!);
  const again = cache.tryAcquire(number, 64 << 20);
  t.ok(again !== undefined, 'once open, it is handed out whatever its size');
  cache.release(again!);
  cache.close();
});
