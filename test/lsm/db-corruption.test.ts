/**
 * Damaged files: a flipped byte in a table's data blocks is reported as CorruptionError and never
 * answered with wrong data; a truncated WAL tail is recovered up to the last whole record and reported;
 * damage in the middle of a WAL stops the open with a CorruptionError naming the file, unless the
 * database is opened with `salvage`.
 */
import t from 'tap';
import { CorruptionError, DB, MemFileSystem } from '../../lsm/index.js';
import type { Logger } from '../../lsm/index.js';
import { BLOCK_TRAILER_SIZE, decodeFooter, FOOTER_SIZE } from '../../lsm/table/format.js';
import { Table } from '../../lsm/table/table.js';
import { InternalKeyComparator } from '../../lsm/dbformat.js';

const b = (s: string): Buffer => Buffer.from(s);
const key = (i: number): Buffer => b(`key${String(i).padStart(4, '0')}`);
const val = (i: number): Buffer => Buffer.from(`value-${i}-`.padEnd(40, String.fromCharCode(97 + (i % 26))));

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (lvl: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${lvl} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, info: rec('info'), warn: rec('warn'), error: rec('error') };
}

async function files(fs: MemFileSystem, dir: string, suffix: string): Promise<string[]> {
  return (await fs.list(dir)).filter((f) => f.endsWith(suffix)).map((f) => `${dir}/${f}`);
}

t.test('a flipped byte in an SSTable data block is CorruptionError, never wrong data', async (t) => {
  const fs = new MemFileSystem();
  const N = 30;
  // Uncompressed blocks: the test flips bytes across the data region it measures.
  let db = await DB.open('/db', { fs, blockSize: 256, compression: 'none' });
  for (let i = 0; i < N; i++) await db.put(key(i), val(i));
  await db.close();
  // Reopening flushes the WAL into one table; no block cache, so every read goes to the file.
  db = await DB.open('/db', { fs, blockCacheSize: 0, compression: 'none' });
  t.teardown(() => db.close());
  const [sst] = await files(fs, '/db', '.sst');
  t.ok(sst !== undefined, 'one table');
  // The data blocks end where the filter block (before the metaindex) begins.
  const file = await fs.openRandomAccess(sst!);
  const footer = decodeFooter(await file.read(file.size - FOOTER_SIZE, FOOTER_SIZE));
  const table = await Table.open(file, sst!, { comparator: new InternalKeyComparator() });
  const dataEnd = footer.metaindex.offset - BLOCK_TRAILER_SIZE - table.filter!.length;
  t.ok(dataEnd > 600, `data blocks span ${dataEnd} bytes`);

  let detected = 0;
  let wrong = 0;
  let otherErrors = 0;
  for (let off = 0; off < dataEnd; off++) {
    fs.corrupt(sst!, off);
    let errors = 0;
    for (let i = 0; i < N; i++) {
      try {
        const got = await db.get(key(i));
        if (got === undefined || !got.equals(val(i))) wrong++;
      } catch (err) {
        if (err instanceof CorruptionError) errors++;
        else otherErrors++;
      }
    }
    let scanError: unknown;
    try {
      let n = 0;
      for await (const [k, v] of db.iterator()) {
        const i = Number(k.toString().slice(3));
        if (!k.equals(key(i)) || !v.equals(val(i))) wrong++;
        n++;
      }
      if (n !== N) wrong++;
    } catch (err) {
      scanError = err;
    }
    if (errors > 0 && scanError instanceof CorruptionError) detected++;
    fs.corrupt(sst!, off); // flip back
  }
  t.equal(wrong, 0, 'no read ever returned wrong or missing data');
  t.equal(otherErrors, 0, 'failures are CorruptionError');
  t.equal(detected, dataEnd, `all ${dataEnd} flipped bytes were reported by get() and by a scan`);
  const err = await db.get(key(0)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal(err, undefined, 'after the byte is restored, reads work again');
  fs.corrupt(sst!, 3);
  const e2 = await db.get(key(0)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(e2, CorruptionError);
  t.match((e2 as CorruptionError).message, /\.sst at byte 0/, 'the error names the table file and block offset');
  t.equal((e2 as CorruptionError).code, 'LSM_CORRUPTION');
});

/** A database whose single WAL holds `n` records (one put each), left as after a crash. */
async function crashedWithWal(n: number): Promise<{ fs: MemFileSystem; wal: string; sizes: number[] }> {
  const fs = new MemFileSystem();
  const db = await DB.open('/db', { fs });
  const [wal] = await files(fs, '/db', '.log');
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    await db.put(key(i), Buffer.alloc(1000, 97 + i), { sync: true });
    sizes.push(await fs.size(wal!));
  }
  fs.crash();
  await db.close().catch(() => {});
  return { fs, wal: wal!, sizes };
}

t.test('a truncated WAL tail is recovered up to the last whole record, and reported', async (t) => {
  const { fs, wal, sizes } = await crashedWithWal(5);
  fs.truncate(wal, sizes[4]! - 300); // the last record is cut in the middle
  const logger = recordingLogger();
  const db = await DB.open('/db', { fs, logger });
  t.teardown(() => db.close());
  for (let i = 0; i < 4; i++) t.same(await db.get(key(i)), Buffer.alloc(1000, 97 + i), `record ${i} recovered`);
  t.equal(await db.get(key(4)), undefined, 'the torn record is dropped');
  t.ok(
    logger.lines.some((l) => l.startsWith('warn') && l.includes(wal.split('/').pop()!) && /torn|incomplete|truncated/.test(l)),
    `the dropped tail is reported: ${logger.lines.join(' | ')}`,
  );
  await db.put(key(9), b('after'), { sync: true });
  t.equal((await db.get(key(9)))?.toString(), 'after', 'the database takes writes after recovery');
});

t.test('corruption in the middle of a WAL: CorruptionError naming the file; salvage skips it', async (t) => {
  const { fs, wal, sizes } = await crashedWithWal(5);
  const at = sizes[1]! + 500; // inside record 2's payload; records 3 and 4 are intact
  fs.corrupt(wal, at);
  const err = await DB.open('/db', { fs }).then(
    async (db) => {
      await db.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  t.type(err, CorruptionError, 'open refuses');
  t.match((err as Error).message, new RegExp(`${wal.split('/').pop()!.replace('.', '\\.')} at byte ${sizes[1]}`), 'names the file and the damaged record\'s offset');

  const logger = recordingLogger();
  const db = await DB.open('/db', { fs, salvage: true, logger });
  t.teardown(() => db.close());
  for (const i of [0, 1, 3, 4]) t.same(await db.get(key(i)), Buffer.alloc(1000, 97 + i), `record ${i} salvaged`);
  t.equal(await db.get(key(2)), undefined, 'the corrupt record is skipped');
  t.ok(logger.lines.some((l) => l.startsWith('warn') && l.includes('checksum')), `salvage reports what it skipped: ${logger.lines.join(' | ')}`);
});

t.test('a damaged manifest or CURRENT is CorruptionError on open', async (t) => {
  const fs = new MemFileSystem();
  const db = await DB.open('/db', { fs });
  await db.put(key(1), b('v'));
  await db.close();
  const current = (await fs.readFile('/db/CURRENT')).toString();
  const [manifest] = (await fs.list('/db')).filter((f) => f.startsWith('MANIFEST-'));
  fs.corrupt(`/db/${manifest!}`, 2); // inside the file header's checksum
  await t.rejects(DB.open('/db', { fs }), CorruptionError, 'bad manifest header');
  fs.corrupt(`/db/${manifest!}`, 2);
  const w = await fs.openWritable('/db/CURRENT');
  await w.append(b('garbage'));
  await w.close();
  await t.rejects(DB.open('/db', { fs }), CorruptionError, 'CURRENT naming no manifest');
  const w2 = await fs.openWritable('/db/CURRENT');
  await w2.append(b(current));
  await w2.close();
  const again = await DB.open('/db', { fs });
  t.equal((await again.get(key(1)))?.toString(), 'v', 'repaired, it opens');
  await again.close();
});
