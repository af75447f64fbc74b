import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { BlockCache } from '../../lsm/block-cache.js';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { CorruptionError, InvalidArgumentError } from '../../lsm/errors.js';
import { FOOTER_SIZE } from '../../lsm/table/format.js';
import { Table, type TableOptions } from '../../lsm/table/table.js';
import { TableBuilder, type TableBuilderOptions } from '../../lsm/table/table-builder.js';
import { MemRandomAccessFile, MemWritableFile, NodeRandomAccessFile, NodeWritableFile } from './fs-for-tests.js';
import { type Entry, iteratorSuite, Rng } from './iterator-suite.js';

type BuildOpts = Partial<TableBuilderOptions>;

async function tableBytes(entries: readonly Entry[], opts: BuildOpts = {}): Promise<Buffer> {
  const file = new MemWritableFile();
  const b = new TableBuilder(file, { comparator: bytewiseComparator, ...opts });
  for (const e of entries) b.add(e.key, e.value);
  await b.finish();
  return file.contents();
}

async function openTable(bytes: Buffer, opts: Partial<TableOptions> = {}): Promise<Table> {
  return Table.open(new MemRandomAccessFile(bytes), 'test.sst', { comparator: bytewiseComparator, ...opts });
}

function sampleEntries(n: number, seed = 3): Entry[] {
  const rng = new Rng(seed);
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ key: Buffer.from(`key${String(i * 2).padStart(6, '0')}`), value: rng.bytes(rng.int(80)) });
  }
  return out;
}

for (const [blockSize, restartInterval] of [
  [64, 1],
  [256, 4],
  [4096, 16],
] as const) {
  iteratorSuite(t, `table (block ${blockSize}, restarts ${restartInterval})`, async (entries) => {
    const table = await openTable(await tableBytes(entries, { blockSize, restartInterval }));
    return table.iterator();
  });
}
iteratorSuite(t, 'table through a small block cache', async (entries) => {
  const cache = new BlockCache(2048);
  const table = await openTable(await tableBytes(entries, { blockSize: 128 }), { blockCache: cache });
  return table.iterator();
});

t.test('get() finds every key, the next key for a missing one, and the filter saves block reads', async (t) => {
  const entries = sampleEntries(5000);
  const bytes = await tableBytes(entries, { blockSize: 1024 });
  const table = await openTable(bytes);
  let wrong = 0;
  for (const e of entries) {
    const got = table.get(e.key);
    if (got === undefined || !e.key.equals(got.key) || !e.value.equals(got.value)) wrong++;
  }
  t.equal(wrong, 0, 'every present key found with its value');
  t.equal(table.stats.filterNegatives, 0, 'no false negatives');
  const readsAfterHits = table.stats.blockReads;

  // Odd numbers are absent (keys are even): the filter should answer most without a block read.
  let filtered = 0;
  for (let i = 1; i < 10000; i += 2) {
    const k = Buffer.from(`key${String(i).padStart(6, '0')}`);
    if (!table.mayContain(k)) {
      filtered++;
      continue;
    }
    const got = table.get(k);
    const want = entries.find((e) => e.key.compare(k) > 0);
    if (want === undefined ? got !== undefined : got === undefined || !got.key.equals(want.key)) wrong++;
  }
  t.equal(wrong, 0, 'a missing key that passes the filter yields the next key');
  t.ok(filtered > 0.97 * 5000, `filter rejected ${filtered} of 5000 absent keys`);
  t.ok(table.stats.filterNegatives >= filtered);
  t.ok(table.stats.blockReads - readsAfterHits < 0.05 * 5000, `${table.stats.blockReads - readsAfterHits} block reads for 5000 absent keys`);

  const unfiltered = await openTable(bytes, { ignoreFilter: true });
  for (let i = 1; i < 10000; i += 2) unfiltered.get(Buffer.from(`key${String(i).padStart(6, '0')}`));
  t.equal(unfiltered.stats.filterChecks, 0);
  t.ok(unfiltered.stats.blockReads >= 4990, `without the filter: ${unfiltered.stats.blockReads} block reads`);
  t.equal(table.get(Buffer.from('zzz')), undefined, 'after the last key');
  const first = table.get(Buffer.from('a'));
  t.ok(first === undefined || first.key.equals(entries[0]!.key), 'before the first key (if the filter lets it through)');
});

t.test('filterKeyLength: the filter holds a prefix of the key', async (t) => {
  // Keys are user key + 8-byte suffix, like internal keys; the filter holds user keys only.
  const suffix = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(n, 4);
    return b;
  };
  const userKey = (k: Uint8Array): Uint8Array => k.subarray(0, k.length - 8);
  const entries: Entry[] = [];
  for (let i = 0; i < 1000; i++) {
    entries.push({ key: Buffer.concat([Buffer.from(`u${String(i).padStart(5, '0')}`), suffix(7)]), value: Buffer.from(`${i}`) });
  }
  const userKeyLength = (k: Uint8Array): number => k.length - 8;
  const table = await openTable(await tableBytes(entries, { filterKeyLength: userKeyLength, bitsPerKey: 10 }), { filterKeyLength: userKeyLength });
  let found = 0;
  for (let i = 0; i < 1000; i++) {
    const probe = Buffer.concat([Buffer.from(`u${String(i).padStart(5, '0')}`), suffix(3)]);
    const got = table.get(probe);
    if (got !== undefined && Buffer.from(userKey(got.key)).equals(userKey(probe))) found++;
  }
  t.equal(found, 1000, 'lookups with another suffix pass the filter');
  let negatives = 0;
  for (let i = 1000; i < 3000; i++) if (!table.mayContain(Buffer.concat([Buffer.from(`u${i}`), suffix(1)]))) negatives++;
  t.ok(negatives > 1900, `${negatives} of 2000 absent user keys filtered`);
});

t.test('tables without a filter, and an empty table', async (t) => {
  const entries = sampleEntries(100);
  const table = await openTable(await tableBytes(entries, { bitsPerKey: 0 }));
  t.equal(table.filter, undefined);
  t.ok(table.get(entries[50]!.key)?.key.equals(entries[50]!.key));
  t.equal(table.stats.filterChecks, 0);
  const empty = await openTable(await tableBytes([]));
  const it = empty.iterator();
  it.seekToFirst();
  t.notOk(it.valid());
  t.equal(empty.get(Buffer.from('x')), undefined);
});

t.test('block cache: repeated reads come from the cache, charged in bytes', async (t) => {
  const entries = sampleEntries(3000);
  const bytes = await tableBytes(entries, { blockSize: 512 });
  const cache = new BlockCache(1 << 20);
  const a = await openTable(bytes, { blockCache: cache });
  const b = await openTable(bytes, { blockCache: cache, cacheId: 42 });
  t.not(a.id, b.id);
  const scan = (table: Table): number => {
    let n = 0;
    const it = table.iterator();
    for (it.seekToFirst(); it.valid(); it.next()) n++;
    return n;
  };
  t.equal(scan(a), 3000);
  const reads = a.stats.blockReads;
  t.ok(reads > 10, `${reads} blocks`);
  t.equal(scan(a), 3000);
  t.equal(a.stats.blockReads, reads, 'second scan reads nothing from the file');
  t.equal(a.stats.blockCacheHits, reads);
  t.equal(scan(b), 3000);
  t.equal(b.stats.blockReads, reads, 'another cacheId does not see those blocks');
  t.ok(cache.usage > 2 * 512 * (reads - 1) && cache.usage <= 2 * bytes.length, `usage ${cache.usage} bytes`);
  // A reopened table with the same cacheId (a file number) finds its blocks.
  const b2 = await openTable(bytes, { blockCache: cache, cacheId: 42 });
  scan(b2);
  t.equal(b2.stats.blockReads, 0, 'reopen with the same cacheId hits the cache');
  t.equal(cache.eraseNamespace(42), reads);
  // A small cache stays within its capacity.
  const small = new BlockCache(2000);
  const c = await openTable(bytes, { blockCache: small });
  scan(c);
  t.ok(small.usage <= 2000);
  // A scan with fillCache false uses cached blocks but adds none (compaction reads its inputs so).
  const fresh = new BlockCache(1 << 20);
  const d = await openTable(bytes, { blockCache: fresh, cacheId: 7 });
  const it = d.iterator({ fillCache: false });
  let n = 0;
  for (it.seekToFirst(); it.valid(); it.next()) n++;
  t.equal(n, 3000, 'a fillCache:false scan sees every entry');
  t.equal(fresh.usage, 0, 'and leaves the cache empty');
  scan(d);
  const cachedReads = d.stats.blockReads;
  const it2 = d.iterator({ fillCache: false });
  for (it2.seekToFirst(); it2.valid(); it2.next()) n++;
  t.equal(d.stats.blockReads, cachedReads, 'blocks already cached are still served from the cache');
  await t.rejects(openTable(bytes, { blockCache: cache, cacheId: -3 }), InvalidArgumentError);
});

t.test('approximateOffsetOf grows with the key and stays within the data', async (t) => {
  const entries = sampleEntries(2000);
  const bytes = await tableBytes(entries, { blockSize: 1024 });
  const table = await openTable(bytes);
  let last = -1;
  let monotonic = true;
  for (let i = 0; i < entries.length; i += 50) {
    const off = table.approximateOffsetOf(entries[i]!.key);
    if (off < last) monotonic = false;
    last = off;
  }
  t.ok(monotonic);
  t.equal(table.approximateOffsetOf(Buffer.from('a')), 0);
  const end = table.approximateOffsetOf(Buffer.from('zzz'));
  t.ok(end > 0.8 * bytes.length && end < bytes.length, `end of data at ${end} of ${bytes.length}`);
});

t.test('builder: order, lifecycle, incremental flush', async (t) => {
  const file = new MemWritableFile();
  const b = new TableBuilder(file, { comparator: bytewiseComparator, blockSize: 256 });
  b.add(Buffer.from('b'), Buffer.from('1'));
  t.throws(() => b.add(Buffer.from('b'), Buffer.from('2')), InvalidArgumentError, 'equal key');
  t.throws(() => b.add(Buffer.from('a'), Buffer.from('2')), InvalidArgumentError, 'smaller key');
  const entries = sampleEntries(2000);
  for (const e of entries) {
    b.add(Buffer.concat([Buffer.from('c'), e.key]), e.value);
    if (b.pendingBytes > 4096) await b.flush();
  }
  t.ok(file.appends > 10, `${file.appends} appends before finish`);
  t.equal(b.numEntries, 2001);
  t.equal(Buffer.from(b.smallestKey()!).toString(), 'b');
  t.ok(b.estimatedSize >= b.fileSize);
  await b.finish();
  t.equal(b.fileSize, file.size);
  t.throws(() => b.add(Buffer.from('z'), Buffer.alloc(0)), InvalidArgumentError, 'add after finish');
  await t.rejects(b.finish(), InvalidArgumentError, 'finish twice');
  const table = await openTable(file.contents());
  const it = table.iterator();
  let n = 0;
  for (it.seekToFirst(); it.valid(); it.next()) n++;
  t.equal(n, 2001);

  const abandoned = new TableBuilder(new MemWritableFile(), { comparator: bytewiseComparator });
  abandoned.add(Buffer.from('x'), Buffer.from('y'));
  abandoned.abandon();
  t.throws(() => abandoned.add(Buffer.from('y'), Buffer.from('y')), InvalidArgumentError);

  // An append failure surfaces from flush/finish and sticks.
  const failing = new MemWritableFile();
  failing.append = () => Promise.reject(new Error('disk full'));
  const fb = new TableBuilder(failing, { comparator: bytewiseComparator });
  fb.add(Buffer.from('k'), Buffer.from('v'));
  await t.rejects(fb.finish(), /disk full/);
  t.throws(() => fb.add(Buffer.from('l'), Buffer.from('v')), /disk full/);
});

t.test('every flipped byte is caught: on open, or as CorruptionError on read, never as wrong data', async (t) => {
  const entries = sampleEntries(60);
  const good = await tableBytes(entries, { blockSize: 256 });
  let onOpen = 0;
  let onRead = 0;
  const bad: string[] = [];
  for (let pos = 0; pos < good.length; pos++) {
    const bytes = Buffer.from(good);
    bytes[pos] = bytes[pos]! ^ (1 << pos % 8);
    let table: Table;
    try {
      table = await openTable(bytes);
    } catch (e) {
      if (e instanceof CorruptionError && e.file === 'test.sst' && e.offset !== undefined) onOpen++;
      else bad.push(`byte ${pos}: open threw ${String(e)}`);
      continue;
    }
    try {
      const it = table.iterator();
      let i = 0;
      for (it.seekToFirst(); it.valid(); it.next(), i++) {
        const e = entries[i];
        if (e === undefined || !e.key.equals(it.key()) || !e.value.equals(it.value())) throw new Error('wrong data');
      }
      bad.push(`byte ${pos}: no error`);
    } catch (e) {
      if (e instanceof CorruptionError && e.file === 'test.sst' && e.offset !== undefined) onRead++;
      else bad.push(`byte ${pos}: ${String(e)}`);
    }
  }
  t.same(bad.slice(0, 10), [], `${good.length} positions: ${onOpen} caught on open, ${onRead} on read`);
  t.ok(onRead > good.length / 2, 'data block damage is found on read');

  // The error names the block: a flip in the second data block reports that block's offset.
  const table = await openTable(good);
  const idx = table.indexBlock.iterator(bytewiseComparator);
  idx.seekToFirst();
  idx.next();
  const secondBlockKey = Buffer.from(idx.key());
  const handle = table.approximateOffsetOf(secondBlockKey);
  const damaged = Buffer.from(good);
  damaged[handle + 3] = damaged[handle + 3]! ^ 0xff;
  const t2 = await openTable(damaged);
  t.ok(t2.get(entries[0]!.key), 'the first block still reads');
  t.throws(() => t2.get(secondBlockKey), { name: 'CorruptionError', file: 'test.sst', offset: handle });
  const unchecked = await openTable(damaged, { verifyChecksums: false });
  t.doesNotThrow(() => unchecked.get(entries[0]!.key), 'verifyChecksums: false skips the CRC');
});

t.test('truncated files and bad footers are refused on open', async (t) => {
  const good = await tableBytes(sampleEntries(200), { blockSize: 512 });
  for (const len of [0, 1, FOOTER_SIZE - 1, FOOTER_SIZE, good.length - FOOTER_SIZE, good.length - 1, Math.floor(good.length / 2)]) {
    await t.rejects(openTable(good.subarray(0, len)), CorruptionError, `truncated to ${len} bytes`);
  }
  const magic = Buffer.from(good);
  magic.write('NOTMAGIC', magic.length - 8, 'latin1');
  await t.rejects(openTable(magic), { name: 'CorruptionError', message: /bad magic/, file: 'test.sst', offset: good.length - FOOTER_SIZE });
  const version = Buffer.from(good);
  version.writeUInt32LE(2, version.length - 16);
  await t.rejects(openTable(version), { name: 'CorruptionError', message: /version 2/ });
  const appended = Buffer.concat([good, Buffer.alloc(10)]);
  await t.rejects(openTable(appended), CorruptionError, 'bytes after the footer');
});

t.test('a table on the real file system', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-table-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, '000005.sst');
  const entries = sampleEntries(20000);
  const w = await NodeWritableFile.create(p);
  const b = new TableBuilder(w, { comparator: bytewiseComparator });
  for (const e of entries) {
    b.add(e.key, e.value);
    if (b.pendingBytes > 64 * 1024) await b.flush();
  }
  await b.finish();
  await w.sync();
  await w.close();
  t.equal(fs.statSync(p).size, b.fileSize);
  const table = await Table.open(NodeRandomAccessFile.open(p), p, { comparator: bytewiseComparator, blockCache: new BlockCache(1 << 20) });
  t.teardown(() => table.close());
  let ok = 0;
  for (let i = 0; i < entries.length; i += 7) {
    const got = table.get(entries[i]!.key);
    if (got !== undefined && got.value.equals(entries[i]!.value)) ok++;
  }
  t.equal(ok, Math.ceil(entries.length / 7));
  const it = table.iterator();
  let n = 0;
  for (it.seekToLast(); it.valid(); it.prev()) n++;
  t.equal(n, entries.length);
});
