/**
 * Unit tests of IndexedDB and its key layout: the byte example of FORMAT.md, index-key order with keys
 * that prefix each other, overwrites and deletes, batches, errors, concurrent writers of one key,
 * reopening with an index added or removed, and covering indexes.
 */
import t from 'tap';
import {
  DB,
  IndexedDB,
  IndexFunctionError,
  IndexUnknownError,
  InvalidArgumentError,
  MemFileSystem,
  NS_INDEX,
  decodeIndexEntryKey,
  encodeIndexEntryKey,
  encodeIndexMeta,
  decodeIndexMeta,
  indexBounds,
  indexPrefix,
  type IndexFunction,
  type Logger,
} from '../../lsm/index.js';
import { KeyLocks } from '../../lsm/index-locks.js';
import { expectedRows, inBounds, randIndexOptions, randValue, scanCovers, scanIndex, type Model } from './indexed-db-helpers.js';
import { Rng } from './rng.js';

const b = (s: string): Buffer => Buffer.from(s);
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
// The cluster's shape: value = epoch u8 ‖ partition u8 ‖ payload; index by (epoch, partition).
const byEpochPartition: IndexFunction = (_k, v) => (v.length >= 2 ? [v.subarray(0, 2)] : []);

async function openMem(fs: MemFileSystem, indexes: Record<string, IndexFunction>, logger?: Logger): Promise<IndexedDB> {
  return IndexedDB.open('/db', { fs, indexes, writeBufferSize: 1024, logger });
}

t.test('entry key layout: the FORMAT.md example, byte for byte, and its decoding', (t) => {
  const entry = encodeIndexEntryKey(indexPrefix('ep'), hex('01 00 07'), b('k1'));
  t.equal(entry.toString('hex'), '0202657001' + '00ff07' + '0001' + '6b31');
  t.same(decodeIndexEntryKey(indexPrefix('ep'), entry), { indexKey: hex('010007'), key: b('k1') });
  t.equal(encodeIndexMeta(['ep', 'by-owner']).toString('hex'), '494458' + '01' + '02' + '02' + '6570' + '08' + b('by-owner').toString('hex'));
  t.same(decodeIndexMeta(encodeIndexMeta(['ep', 'by-owner'])), ['ep', 'by-owner']);
  t.throws(() => decodeIndexEntryKey(indexPrefix('ep'), hex('0202657001')), { code: 'LSM_CORRUPTION' });
  t.throws(() => decodeIndexMeta(hex('49445802')), { code: 'LSM_CORRUPTION' });
  t.end();
});

t.test('entry keys sort by index key, then primary key, whatever their lengths; bounds select exactly', (t) => {
  const rng = new Rng(7);
  const prefix = indexPrefix('i');
  const rows: { ik: Buffer; k: Buffer; enc: Buffer }[] = [];
  for (let i = 0; i < 400; i++) {
    const ik = randValue(rng);
    const k = randValue(rng);
    rows.push({ ik, k, enc: encodeIndexEntryKey(prefix, ik, k) });
  }
  const byEncoding = [...rows].sort((x, y) => Buffer.compare(x.enc, y.enc));
  const byTuple = [...rows].sort((x, y) => Buffer.compare(x.ik, y.ik) || Buffer.compare(x.k, y.k));
  t.same(byEncoding.map((r) => r.enc.toString('hex')), byTuple.map((r) => r.enc.toString('hex')), 'encoded order = (index key, key) order');
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    const o = randIndexOptions(rng);
    const r = indexBounds(prefix, o);
    const got = rows.filter((x) => Buffer.compare(x.enc, r.gte!) >= 0 && Buffer.compare(x.enc, r.lt!) < 0).length;
    const want = rows.filter((x) => inBounds(x.ik, o)).length;
    if (got !== want) bad++;
  }
  t.equal(bad, 0, 'every random range on index keys maps to exactly its entries');
  t.ok(rows.every((r) => r.enc[0] === NS_INDEX && decodeIndexEntryKey(prefix, r.enc).indexKey.equals(r.ik) && decodeIndexEntryKey(prefix, r.enc).key.equals(r.k)), 'every entry decodes back');
  t.end();
});

t.test('overwrites and deletes move and remove index entries; scans return the live records', async (t) => {
  const fs = new MemFileSystem();
  const store = await openMem(fs, { ep: byEpochPartition });
  t.teardown(() => store.close());
  await store.put(b('a'), hex('0105aa'));
  await store.put(b('b'), hex('0105bb'));
  await store.put(b('c'), hex('0106cc'));
  const scan = async (o = {}): Promise<string[]> => (await scanIndex(store, 'ep', o)).map((r) => `${r[0]}:${Buffer.from(r[1], 'hex').toString()}`);
  t.same(await scan(), ['0105:a', '0105:b', '0106:c']);
  await store.put(b('a'), hex('0106a2')); // moves a from (1,5) to (1,6)
  t.same(await scan(), ['0105:b', '0106:a', '0106:c']);
  await store.del(b('b'));
  await store.put(b('c'), hex('07')); // no longer indexed
  t.same(await scan(), ['0106:a']);
  t.same(await scan({ gte: hex('0106'), lte: hex('0106') }), ['0106:a'], 'one (epoch, partition)');
  const [first] = await scanIndex(store, 'ep');
  t.same(first, ['0106', b('a').toString('hex'), '0106a2'], 'the entry carries the current record');
  t.same((await store.get(b('c')))?.toString('hex'), '07');
  const keys: string[] = [];
  for await (const [k] of store.iterator({ gte: b('a'), lt: b('c') })) keys.push(k.toString());
  t.same(keys, ['a'], 'the primary iterator shows user keys only');
});

t.test('a batch is applied as a whole; a later op on a key wins; several and duplicate index keys', async (t) => {
  const fs = new MemFileSystem();
  const multi: IndexFunction = (_k, v) => [...v].map((x) => Buffer.from([x])); // one key per byte, duplicates collapse
  const store = await openMem(fs, { multi });
  t.teardown(() => store.close());
  await store.write([
    { type: 'put', key: b('x'), value: hex('010101') },
    { type: 'put', key: b('y'), value: hex('0203') },
    { type: 'del', key: b('y') },
    { type: 'put', key: b('x'), value: hex('0102') },
  ]);
  t.same((await scanIndex(store, 'multi')).map((r) => r[0] + r[1]), ['01' + '78', '02' + '78']);
  t.equal(await store.get(b('y')), undefined);
  await store.write([]); // an empty write is a no-op, and later writes still go through
  await store.write([{ type: 'put', key: b('x'), value: hex('02') }, { type: 'put', key: b('y'), value: hex('0203') }]);
  t.same((await scanIndex(store, 'multi', { reverse: true })).map((r) => r[0] + r[1]), ['03' + '79', '02' + '79', '02' + '78']);
});

t.test('typed errors: unknown index, throwing or misbehaving index function writes nothing, bad input', async (t) => {
  const fs = new MemFileSystem();
  const picky: IndexFunction = (_k, v) => {
    if (v[0] === 0xee) throw new Error('boom');
    if (v[0] === 0xdd) return 'nope' as unknown as Uint8Array[];
    return [v];
  };
  const store = await openMem(fs, { picky });
  t.teardown(() => store.close());
  t.throws(() => store.indexIterator('nope'), IndexUnknownError);
  t.throws(() => store.indexIterator('nope'), { code: 'LSM_INDEX_UNKNOWN' });
  await store.put(b('a'), hex('01'));
  await t.rejects(store.write([{ type: 'put', key: b('b'), value: hex('02') }, { type: 'put', key: b('a'), value: hex('ee') }]), {
    code: 'LSM_INDEX_FUNCTION',
    cause: { message: 'boom' },
  });
  await t.rejects(store.put(b('c'), hex('dd')), IndexFunctionError);
  t.equal(await store.get(b('b')), undefined, 'nothing of the failed batch was written');
  t.same((await store.get(b('a')))?.toString('hex'), '01');
  t.same((await scanIndex(store, 'picky')).map((r) => r[0]), ['01']);
  await t.rejects(store.put('a' as unknown as Uint8Array, b('v')), InvalidArgumentError);
  await t.rejects(store.write([{ type: 'merge', key: b('a') } as never]), InvalidArgumentError);
  t.throws(() => store.indexIterator('picky', { gte: 'a' as unknown as Uint8Array }), InvalidArgumentError);
  await t.rejects(IndexedDB.open('/other', { fs, indexes: { '': picky } }), InvalidArgumentError);
});

t.test('concurrent writers of one key leave exactly the last value indexed', async (t) => {
  const fs = new MemFileSystem();
  const store = await openMem(fs, { ep: byEpochPartition });
  t.teardown(() => store.close());
  const before = store.stats().walRecords;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) {
    writes.push(store.put(b('hot'), Buffer.from([1, i, 0])));
    writes.push(store.put(b(`cold${i}`), Buffer.from([2, i % 3])));
  }
  await Promise.all(writes);
  const value = await store.get(b('hot'));
  const hot = (await scanIndex(store, 'ep')).filter((r) => r[1] === b('hot').toString('hex'));
  t.same(hot, [[value!.subarray(0, 2).toString('hex'), b('hot').toString('hex'), value!.toString('hex')]], 'one entry, the current one');
  t.equal((await scanIndex(store, 'ep', { gte: hex('02'), lt: hex('03') })).length, 60);
  const records = store.stats().walRecords - before;
  t.ok(records < 120, `writers of different keys share group commits (${records} WAL records for 120 writes)`);
  const locks = new KeyLocks();
  const release = await locks.acquire([b('a'), b('b'), b('a')]);
  let second = false;
  const waiting = locks.acquire([b('b')]).then((r) => {
    second = true;
    r();
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.notOk(second, 'a held key lock blocks the next writer of that key');
  release();
  await waiting;
  t.ok(second);
  t.equal(locks.size, 0, 'released locks leave nothing behind');
});

t.test('update: one read decides; the index follows; nothing is written when it declines or throws', async (t) => {
  const fs = new MemFileSystem();
  const store = await openMem(fs, { ep: byEpochPartition });
  t.teardown(() => store.close());
  const seen: (string | undefined)[] = [];
  // Keep the larger second byte (a last-write-wins of sorts), as the replica store does with timestamps.
  const newer = (v: Buffer) => (old: Buffer | undefined) => {
    seen.push(old?.toString('hex'));
    return old !== undefined && old[1]! >= v[1]! ? undefined : v;
  };
  t.equal(await store.update(b('k'), newer(hex('0105aa'))), true, 'stored: there was nothing');
  t.equal(await store.update(b('k'), newer(hex('0103bb'))), false, 'declined: older');
  t.equal(await store.update(b('k'), newer(hex('0207cc'))), true, 'stored: newer, in another (epoch, partition)');
  t.same(seen, [undefined, '0105aa', '0105aa'], 'decide saw the stored value each time');
  t.same(await scanIndex(store, 'ep'), [['0207', b('k').toString('hex'), '0207cc']], 'the index entry moved with the record');
  const records = store.stats().walRecords;
  await t.rejects(
    store.update(b('k'), () => {
      throw new Error('no');
    }),
    /no/,
  );
  await t.rejects(store.update(b('k'), () => 'x' as unknown as Buffer), InvalidArgumentError);
  await t.rejects(store.update(b('k'), 'x' as never), InvalidArgumentError);
  t.equal(store.stats().walRecords, records, 'a throwing or misbehaving decide writes nothing');
  t.same((await store.get(b('k')))?.toString('hex'), '0207cc');
  // Concurrent updates of one key each read the value the previous one stored.
  const counter = (old: Buffer | undefined): Buffer => Buffer.from([3, (old?.[1] ?? 0) + 1]);
  await Promise.all(Array.from({ length: 20 }, () => store.update(b('n'), counter)));
  t.same((await store.get(b('n')))?.toString('hex'), '0314', 'twenty increments, none lost');
});

t.test('a snapshot scan sees the records and entries of its time', async (t) => {
  const fs = new MemFileSystem();
  const store = await openMem(fs, { ep: byEpochPartition });
  t.teardown(() => store.close());
  await store.put(b('a'), hex('0101'));
  const snap = store.snapshot();
  await store.put(b('a'), hex('0202'));
  t.same(await scanIndex(store, 'ep', { snapshot: snap }), [['0101', '61', '0101']]);
  t.same(await scanIndex(store, 'ep'), [['0202', '61', '0202']]);
  snap.release();
});

t.test('reopen with an index added backfills it; with one removed deletes its entries', async (t) => {
  const fs = new MemFileSystem();
  const logged: string[] = [];
  const logger: Logger = { info: (msg, f) => logged.push(`${msg} ${JSON.stringify(f)}`), warn() {}, error() {} };
  let store = await openMem(fs, { ep: byEpochPartition });
  const model: Model = new Map();
  for (let i = 0; i < 300; i++) {
    const v = Buffer.from([i % 5, i % 7, i]);
    await store.put(b(`key${i}`), v);
    model.set(b(`key${i}`).toString('hex'), v.toString('hex'));
  }
  await store.close();
  const second: IndexFunction = (_k, v) => [v.subarray(1, 2)];
  store = await openMem(fs, { ep: byEpochPartition, second }, logger);
  t.same(await scanIndex(store, 'second'), expectedRows(model, second), 'backfilled from the primary records');
  t.same(await scanIndex(store, 'ep'), expectedRows(model, byEpochPartition));
  await store.put(b('key1'), hex('090909'));
  model.set(b('key1').toString('hex'), '090909');
  await store.close();
  store = await openMem(fs, { second }, logger);
  t.same(await scanIndex(store, 'second'), expectedRows(model, second));
  t.throws(() => store.indexIterator('ep'), IndexUnknownError);
  await store.close();
  // An open that rebuilds says so before it starts (it may take minutes on a big store), and how long it took.
  t.match(logged.filter((l) => /^(index|adding|removing)/.test(l)), [
    /^adding an index: building it from every primary record before the store opens .*"second"/,
    /^index added.*"second".*"records":300,"entries":300,"ms":\d+/,
    /^removing an index: deleting its entries .*"ep"/,
    /^index removed.*"ep".*"entries":300,"ms":\d+/,
  ]);
  const raw = await DB.open('/db', { fs });
  let entries = 0;
  for await (const [k] of raw.iterator({ gte: Buffer.from([NS_INDEX]), lt: Buffer.from([NS_INDEX + 1]) })) {
    entries++;
    if (!k.subarray(0, indexPrefix('second').length).equals(indexPrefix('second'))) t.fail(`stray entry ${k.toString('hex')}`);
  }
  t.equal(entries, 300, 'only the declared index has entries left');
  await raw.close();
});

t.test('a covering index: each entry carries its record\'s cover, through overwrites, deletes, update() and a backfill', async (t) => {
  const fs = new MemFileSystem();
  // Keyed by (epoch, partition) like the cluster's, covered by the payload's first byte (its "version").
  const covered = { keys: byEpochPartition, cover: (_k: Buffer, v: Buffer) => v.subarray(2, 3) };
  let store = await IndexedDB.open('/db', { fs, indexes: { ep: byEpochPartition } });
  await store.put(b('a'), hex('0101 07'));
  await store.close();
  store = await IndexedDB.open('/db', { fs, indexes: { covered } });
  t.same(await scanCovers(store, 'covered'), [['0101', '61', '07']], 'an index added later is backfilled with covers');
  await store.put(b('a'), hex('0101 08')); // same index key, new cover
  await store.put(b('b'), hex('0102 09'));
  t.same(await scanCovers(store, 'covered'), [['0101', '61', '08'], ['0102', '62', '09']], 'an overwrite with the same index key replaces the cover');
  t.ok(await store.update(b('b'), () => hex('0102 0a')));
  await store.write([{ type: 'del', key: b('a') }]);
  t.same(await scanCovers(store, 'covered'), [['0102', '62', '0a']], 'update() replaces it too; a delete removes the entry');
  t.same((await scanIndex(store, 'covered')).map((r) => r[2]), ['01020a'], 'indexIterator still reads the records');
  const snapshot = store.snapshot();
  await store.put(b('b'), hex('0102 0b'));
  t.same(await scanCovers(store, 'covered', { snapshot }), [['0102', '62', '0a']], 'a cover scan reads at its snapshot');
  snapshot.release();
  await store.close();

  const badCover = (_k: Buffer, v: Buffer): Uint8Array => {
    if (v[2] === 0xee) throw new Error('boom');
    return v[2] === 0xdd ? ('x' as unknown as Uint8Array) : v.subarray(2, 3);
  };
  const bad = { keys: byEpochPartition, cover: badCover };
  store = await IndexedDB.open('/bad', { fs, indexes: { bad, plain: byEpochPartition } });
  t.teardown(() => store.close());
  await t.rejects(store.write([{ type: 'put', key: b('x'), value: hex('0101 01') }, { type: 'put', key: b('y'), value: hex('0101 ee') }]), { code: 'LSM_INDEX_FUNCTION', cause: { message: 'boom' } });
  await t.rejects(store.put(b('z'), hex('0101 dd')), IndexFunctionError);
  t.equal(await store.get(b('x')), undefined, 'nothing of a batch whose cover failed was written');
  t.throws(() => store.coverIterator('plain'), InvalidArgumentError, 'an index without a cover has no cover scan');
  t.throws(() => store.coverIterator('nope'), IndexUnknownError);
  await t.rejects(IndexedDB.open('/other', { fs, indexes: { half: { keys: byEpochPartition } as never } }), InvalidArgumentError, 'a cover must be a function');
});

t.test('a database not written through IndexedDB is refused', async (t) => {
  const fs = new MemFileSystem();
  const raw = await DB.open('/plain', { fs });
  await raw.put(b('k'), b('v'));
  await raw.close();
  await t.rejects(IndexedDB.open('/plain', { fs, indexes: {} }), { code: 'LSM_INVALID_ARGUMENT' });
  const again = await DB.open('/plain', { fs }); // the failed open released the directory
  await again.close();
});
