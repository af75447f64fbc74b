import t from 'tap';
import type { WritableFile } from '../../lsm/env.js';
import { CorruptionError, IOError } from '../../lsm/errors.js';
import { MemFileSystem } from '../../lsm/mem-fs.js';
import { BLOCK_SIZE, HEADER_SIZE, RecordType } from '../../lsm/wal/format.js';
import { LogReader } from '../../lsm/wal/log-reader.js';
import { LogWriter } from '../../lsm/wal/log-writer.js';
import { Rng } from './rng.js';

const FILE_HEADER_BYTES = HEADER_SIZE + 8;

/** A payload whose bytes identify it, so a mix-up of records would show. */
function payload(id: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (id * 31 + i * 7) & 0xff;
  return b;
}

/** Writes the payloads as records; returns the file bytes and each record's start offset. */
async function writeLog(payloads: Buffer[]): Promise<{ data: Buffer; starts: number[] }> {
  const fs = new MemFileSystem();
  const file = await fs.openWritable('/wal.log');
  const w = new LogWriter(file);
  const starts: number[] = [];
  for (const p of payloads) {
    const before = file.size;
    await w.addRecord(p);
    // The record starts after any block trailer and, for the first, after the file header.
    let s = before === 0 ? FILE_HEADER_BYTES : before;
    if (BLOCK_SIZE - (s % BLOCK_SIZE) < HEADER_SIZE) s += BLOCK_SIZE - (s % BLOCK_SIZE);
    starts.push(s);
  }
  await w.sync();
  return { data: await fs.readFile('/wal.log'), starts };
}

interface ReadResult {
  records: Buffer[];
  reports: { bytes: number; reason: string }[];
}

function readAll(data: Uint8Array, salvage = false): ReadResult {
  const reports: ReadResult['reports'] = [];
  const r = new LogReader(data, { file: 'wal.log', salvage, reporter: (bytes, reason) => reports.push({ bytes, reason }) });
  return { records: [...r].map((x) => Buffer.from(x)), reports };
}

t.test('the file starts with the header record and the worked example of format.ts holds', async (t) => {
  const { data } = await writeLog([Buffer.from('abc')]);
  t.equal(
    data.toString('hex'),
    '34ddc07b' + '0800' + '05' + '4d44574c' + '01000000' + 'f270e89d' + '0300' + '01' + '616263',
  );
});

t.test('records of every awkward size round-trip', async (t) => {
  const avail = BLOCK_SIZE - FILE_HEADER_BYTES - HEADER_SIZE; // a FULL record filling block 0 exactly
  const sizes = [0, 1, 100, avail - 1, avail, avail + 1, BLOCK_SIZE, 100 * 1024, 0, 3 * BLOCK_SIZE + 5, 1];
  const payloads = sizes.map((s, i) => payload(i, s));
  const { data } = await writeLog(payloads);
  const { records, reports } = readAll(data);
  t.equal(records.length, payloads.length);
  for (let i = 0; i < payloads.length; i++) t.ok(records[i]!.equals(payloads[i]!), `record ${i} (${sizes[i]} bytes)`);
  t.same(reports, [], 'nothing reported for a clean log');
});

t.test('every block-trailer length (0..7 bytes left) is handled', async (t) => {
  for (let left = 0; left <= HEADER_SIZE + 1; left++) {
    // First record fills block 0 up to `left` bytes before its end.
    const first = payload(1, BLOCK_SIZE - FILE_HEADER_BYTES - HEADER_SIZE - left);
    const second = payload(2, 50);
    const { data, starts } = await writeLog([first, second]);
    const { records, reports } = readAll(data);
    t.equal(records.length, 2, `${left} bytes left`);
    t.ok(records[0]!.equals(first) && records[1]!.equals(second), `${left} bytes left: contents`);
    t.same(reports, []);
    if (left < HEADER_SIZE) {
      t.equal(starts[1], BLOCK_SIZE, 'the next record starts in the next block');
      t.ok(data.subarray(BLOCK_SIZE - left, BLOCK_SIZE).every((x) => x === 0), 'trailer is zeros');
    } else {
      t.equal(data[BLOCK_SIZE - left + 6], RecordType.FIRST, '7+ bytes left: a FIRST fragment goes there');
    }
  }
});

t.test('an empty file is an empty log; a file with only the header too', async (t) => {
  t.same(readAll(new Uint8Array(0)), { records: [], reports: [] });
  const { data } = await writeLog([Buffer.from('x')]);
  t.same(readAll(data.subarray(0, FILE_HEADER_BYTES)), { records: [], reports: [] });
});

t.test('a wrong magic or an unknown version is refused, even when salvaging', async (t) => {
  const { data } = await writeLog([Buffer.from('x')]);
  const other = new LogReader(data, { magic: 0x12345678, salvage: true });
  t.throws(() => other.readRecord(), CorruptionError);
  // Rewrite the header as version 2 with a valid checksum.
  const fs = new MemFileSystem();
  const w = new LogWriter(await fs.openWritable('/v2.log'), { version: 2 });
  await w.addRecord(Buffer.from('x'));
  const v2 = await fs.readFile('/v2.log');
  t.throws(() => readAll(v2, true), /unsupported log version 2/);
});

t.test('each addRecord is exactly one file append', async (t) => {
  const fs = new MemFileSystem();
  const inner = await fs.openWritable('/a.log');
  let appends = 0;
  const counting: WritableFile = {
    append: (d) => {
      appends++;
      return inner.append(d);
    },
    sync: () => inner.sync(),
    close: () => inner.close(),
    get size() {
      return inner.size;
    },
  };
  const w = new LogWriter(counting);
  await w.addRecord(payload(1, 10));
  await w.addRecord(payload(2, 100 * 1024)); // four fragments
  await w.addRecord(payload(3, 0));
  t.equal(appends, 3);
  t.equal(readAll(await fs.readFile('/a.log')).records.length, 3);
});

t.test('concurrent addRecord calls keep their bytes apart', async (t) => {
  const fs = new MemFileSystem();
  const w = new LogWriter(await fs.openWritable('/c.log'));
  const payloads = Array.from({ length: 20 }, (_, i) => payload(i, (i * 997) % 5000));
  await Promise.all(payloads.map((p) => w.addRecord(p)));
  const { records } = readAll(await fs.readFile('/c.log'));
  t.same(records.map((r) => r.toString('hex')), payloads.map((p) => p.toString('hex')));
});

t.test('after a failed append the writer refuses more records', async (t) => {
  let fail = true;
  const file: WritableFile = {
    append: () => (fail ? Promise.reject(new IOError('disk full')) : Promise.resolve()),
    sync: () => Promise.resolve(),
    close: () => Promise.resolve(),
    size: 0,
  };
  const w = new LogWriter(file);
  await t.rejects(w.addRecord(Buffer.from('x')), IOError);
  fail = false;
  await t.rejects(w.addRecord(Buffer.from('y')), IOError, 'still failed');
  await t.rejects(w.sync(), IOError);
});

t.test('a torn tail at every byte offset of the last record is dropped and reported', async (t) => {
  // The last record straddles the end of block 0, so cuts fall in both fragments and both headers.
  const payloads = [payload(1, 300), payload(2, BLOCK_SIZE - FILE_HEADER_BYTES - 3 * HEADER_SIZE - 300 - 900), payload(3, 2000)];
  const { data, starts } = await writeLog(payloads);
  const lastStart = starts[2]!;
  t.ok(lastStart < BLOCK_SIZE && data.length > BLOCK_SIZE, 'the last record straddles a block boundary');
  let checked = 0;
  for (let cut = lastStart + 1; cut < data.length; cut++) {
    const { records, reports } = readAll(data.subarray(0, cut));
    if (records.length !== 2 || !records[0]!.equals(payloads[0]!) || !records[1]!.equals(payloads[1]!)) {
      t.fail(`cut at ${cut}: earlier records lost`);
      continue;
    }
    if (reports.length !== 1 || reports[0]!.bytes !== cut - lastStart) {
      t.fail(`cut at ${cut}: reported ${JSON.stringify(reports)}`);
      continue;
    }
    checked++;
  }
  t.equal(checked, data.length - lastStart - 1, 'every cut recovered the first two records and reported the rest');
  // Cutting exactly at the record's start loses nothing and reports nothing.
  t.same(readAll(data.subarray(0, lastStart)).reports, []);
});

t.test('a torn multi-block (100 KiB) last record is dropped and reported', async (t) => {
  const payloads = [payload(1, 10), payload(2, 100 * 1024)];
  const { data, starts } = await writeLog(payloads);
  const cuts = [starts[1]! + 3, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 3, BLOCK_SIZE + 7, 2 * BLOCK_SIZE + 100, data.length - 1];
  for (const cut of cuts) {
    const { records, reports } = readAll(data.subarray(0, cut));
    t.equal(records.length, 1, `cut at ${cut}`);
    t.equal(reports[0]?.bytes, cut - starts[1]!, `cut at ${cut}: dropped bytes reported`);
  }
});

t.test('a tail of garbage or zeros after a crash is dropped, not fatal', async (t) => {
  const payloads = [payload(1, 100), payload(2, 100)];
  const { data } = await writeLog(payloads);
  const rng = new Rng(7);
  for (const tail of [Buffer.alloc(500), rng.bytes(500), Buffer.alloc(3)]) {
    const { records, reports } = readAll(Buffer.concat([data, tail]));
    t.equal(records.length, 2);
    t.equal(reports.length, 1);
    t.equal(reports[0]!.bytes, tail.length);
  }
});

t.test('a flipped byte in a middle record, valid records after: CorruptionError, or skipped with salvage', async (t) => {
  const payloads = [payload(1, 200), payload(2, 120), payload(3, 200)];
  const { data, starts } = await writeLog(payloads);
  const midStart = starts[1]!;
  const midEnd = starts[2]!;
  for (let i = midStart; i < midEnd; i++) {
    const bad = Buffer.from(data);
    bad[i] = bad[i]! ^ 0x5a;
    let err: unknown;
    try {
      readAll(bad);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof CorruptionError) || err.offset !== midStart || err.file !== 'wal.log') {
      t.fail(`flip at ${i}: expected CorruptionError at ${midStart}, got ${String(err)}`);
      continue;
    }
    t.match(err.message, `wal.log at byte ${midStart}`, `flip at ${i}: message names file and offset`);
    const { records, reports } = readAll(bad, true);
    t.same(records.map((r) => r.toString('hex')), [payloads[0]!, payloads[2]!].map((p) => p.toString('hex')), `flip at ${i}: salvage keeps the others`);
    t.equal(reports.length, 1);
    t.equal(reports[0]!.bytes, midEnd - midStart, 'the whole middle record is reported dropped');
  }
});

t.test('corruption in the first fragment of a multi-block record is found by later blocks', async (t) => {
  const payloads = [payload(1, 100), payload(2, 70_000), payload(3, 100)];
  const { data, starts } = await writeLog(payloads);
  const bad = Buffer.from(data);
  bad[starts[1]! + 50]! ^= 1;
  t.throws(() => readAll(bad), CorruptionError);
  const { records, reports } = readAll(bad, true);
  t.same(records.map((r) => r.length), [100, 100]);
  t.equal(reports.length, 1);
  t.equal(reports[0]!.bytes, starts[2]! - starts[1]!);
});

t.test('a damaged middle fragment with records after is corruption too', async (t) => {
  const payloads = [payload(1, 100), payload(2, 100_000), payload(3, 100)];
  const { data } = await writeLog(payloads);
  const bad = Buffer.from(data);
  bad[BLOCK_SIZE + 100]! ^= 1; // inside the MIDDLE fragment in block 1
  const err = t.throws(() => readAll(bad), CorruptionError) as CorruptionError;
  t.equal(err.offset, BLOCK_SIZE);
  t.same(readAll(bad, true).records.map((r) => r.length), [100, 100]);
});

t.test('salvage survives several corrupt records and keeps every intact one', async (t) => {
  const rng = new Rng(8);
  const payloads = Array.from({ length: 60 }, (_, i) => payload(i, rng.int(3000)));
  const { data, starts } = await writeLog(payloads);
  const bad = Buffer.from(data);
  const damaged = new Set([5, 17, 18, 40]);
  for (const i of damaged) bad[starts[i]! + HEADER_SIZE + (payloads[i]!.length >> 1)]! ^= 0xff;
  for (const i of damaged) if (payloads[i]!.length === 0) damaged.delete(i); // a flip landed on the next header
  const { records, reports } = readAll(bad, true);
  t.ok(reports.length >= 3, 'each damaged run reported');
  const want = payloads.filter((_, i) => !damaged.has(i)).map((p) => p.toString('hex'));
  t.same(records.map((r) => r.toString('hex')), want);
});

t.test('after a simulated power loss, every synced record survives and nothing else appears', async (t) => {
  const fs = new MemFileSystem();
  await fs.mkdir('/db');
  const file = await fs.openWritable('/db/000003.log');
  await fs.syncDir('/db');
  const w = new LogWriter(file);
  const rng = new Rng(9);
  const synced: string[] = [];
  const all: string[] = [];
  for (let i = 0; i < 200; i++) {
    const p = payload(i, rng.int(rng.int(10) === 0 ? 70_000 : 300));
    await w.addRecord(p);
    all.push(p.toString('hex'));
    if (rng.int(4) === 0) {
      await w.sync();
      synced.splice(0, synced.length, ...all);
    }
  }
  fs.crash();
  // A crash keeps exactly the synced prefix; also tear the file inside the first unsynced record.
  const data = await fs.readFile('/db/000003.log');
  const { records, reports } = readAll(data);
  t.same(records.map((r) => r.toString('hex')), synced, 'exactly the synced records');
  t.same(reports, []);
  const extra = await encodeRecordAt(payload(999, 5000), data.length);
  const torn = Buffer.concat([data, extra.subarray(0, 1234)]);
  const afterTear = readAll(torn);
  t.same(afterTear.records.map((r) => r.toString('hex')), synced, 'a torn extra record is dropped');
  t.equal(afterTear.reports.length, 1);
});

/** The bytes the writer appends for one record when the file already holds `at` bytes. */
async function encodeRecordAt(p: Buffer, at: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const file: WritableFile = {
    append: (d) => {
      chunks.push(Buffer.from(d));
      return Promise.resolve();
    },
    sync: () => Promise.resolve(),
    close: () => Promise.resolve(),
    size: at,
  };
  await new LogWriter(file).addRecord(p);
  return Buffer.concat(chunks);
}

t.test('fuzz: damage never yields wrong data; truncation always yields a prefix', async (t) => {
  const rng = new Rng(10);
  let wrong = 0;
  let notPrefix = 0;
  let salvageThrew = 0;
  for (let round = 0; round < 150; round++) {
    const payloads = Array.from({ length: 1 + rng.int(12) }, (_, i) => payload(round * 100 + i, rng.int(rng.int(5) === 0 ? 50_000 : 200)));
    const { data } = await writeLog(payloads);
    const want = payloads.map((p) => p.toString('hex'));
    const isSubsequence = (got: string[]): boolean => {
      let j = 0;
      for (const g of got) {
        while (j < want.length && want[j] !== g) j++;
        if (j === want.length) return false;
        j++;
      }
      return true;
    };
    // Truncation anywhere: a prefix of the records, no error.
    const cut = rng.int(data.length + 1);
    const truncated = readAll(data.subarray(0, cut)).records.map((r) => r.toString('hex'));
    if (!truncated.every((r, i) => r === want[i])) notPrefix++;
    // A few flipped bytes (not in the file header): an error or a subsequence, never invented records.
    const bad = Buffer.from(data);
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const at = FILE_HEADER_BYTES + rng.int(data.length - FILE_HEADER_BYTES);
      bad[at]! ^= 1 + rng.int(255);
    }
    try {
      if (!isSubsequence(readAll(bad).records.map((r) => r.toString('hex')))) wrong++;
    } catch (e) {
      if (!(e instanceof CorruptionError)) wrong++;
    }
    try {
      if (!isSubsequence(readAll(bad, true).records.map((r) => r.toString('hex')))) wrong++;
    } catch {
      salvageThrew++;
    }
  }
  t.equal(wrong, 0, 'no damaged log produced a record that was never written');
  t.equal(notPrefix, 0, 'every truncated log read back as a prefix');
  t.equal(salvageThrew, 0, 'salvage mode reads past damage outside the file header');
});
