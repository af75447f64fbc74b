import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { IndexedDB, MemFileSystem, type FileSystem, type Logger } from '../../lsm/index.js';
import { PLACEMENT_INDEX, ReplicaStore, placementKey } from '../../cluster/storage/replica-store.js';
import { compareRecords, encodeRecord, readPlacement, type StoredRecord } from '../../cluster/storage/record.js';
import { FailingFs } from '../support/fault-fs.js';
import { Rng } from '../support/rng.js';
import { waitFor } from '../support/wait.js';

const DIR = '/replica';
const DAY = 24 * 60 * 60 * 1000;

interface Opts {
  epoch?: number;
  partition?: number;
  value?: string | Uint8Array;
  tombstone?: boolean;
}
function rec(physicalMs: number, logical: number, node: string, o: Opts = {}): StoredRecord {
  const tombstone = o.tombstone ?? false;
  const value = tombstone ? new Uint8Array(0) : typeof o.value === 'string' ? Buffer.from(o.value) : (o.value ?? Buffer.from(`v${physicalMs}.${logical}`));
  return { value, timestamp: { physicalMs, logical, node }, epoch: o.epoch ?? 1, partition: o.partition ?? 0, tombstone };
}
const k = (s: string): Buffer => Buffer.from(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Comparable form of a record (decoded values are views into larger buffers). */
const plain = (r: StoredRecord | undefined): unknown => (r === undefined ? undefined : { ...r, value: hex(r.value) });

/** The model of a replica: per key, the max of the versions applied (LWW). */
class Model {
  readonly m = new Map<string, { key: Buffer; record: StoredRecord }>();
  apply(key: Buffer, r: StoredRecord): void {
    const cur = this.m.get(hex(key));
    if (cur === undefined || compareRecords(r, cur.record) > 0) this.m.set(hex(key), { key, record: r });
  }
  /** (epoch, partition) → [key hex, record] in key order. */
  partitions(): Map<string, [string, unknown][]> {
    const out = new Map<string, [string, unknown][]>();
    const sorted = [...this.m.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    for (const { key, record } of sorted) {
      const id = `${record.epoch}/${record.partition}`;
      out.set(id, [...(out.get(id) ?? []), [hex(key), plain(record)]]);
    }
    return out;
  }
}

async function scan(s: ReplicaStore, epoch: number, partition: number, opts?: { limit?: number; after?: Uint8Array }): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const { key, record } of s.scanPartition(epoch, partition, opts)) out.push([hex(key), plain(record)]);
  return out;
}

/** What scanPartitionVersions yields, its pages joined, as [key hex, { timestamp, tombstone }]. */
async function scanVersions(s: ReplicaStore, epoch: number, partition: number): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const page of s.scanPartitionVersions(epoch, partition)) for (const { key, version } of page) out.push([hex(key), version]);
  return out;
}

const versionsOf = (rows: [string, unknown][]): [string, unknown][] =>
  rows.map(([key, r]) => [key, { timestamp: (r as StoredRecord).timestamp, tombstone: (r as StoredRecord).tombstone }]);

/**
 * Every (epoch, partition) scan equals the model's, and scans hold nothing else (no stale index
 * entries); the version scan (index entries alone) says the same as the record scan.
 */
async function checkAgainstModel(t: Test, s: ReplicaStore, model: Model, placements: [number, number][], label: string): Promise<void> {
  const want = model.partitions();
  let seen = 0;
  let mismatches = 0;
  for (const [e, p] of placements) {
    const got = await scan(s, e, p);
    seen += got.length;
    if (!t.same(got, want.get(`${e}/${p}`) ?? [], `${label}: scan ${e}/${p}`)) mismatches++;
    if (!t.same(await scanVersions(s, e, p), versionsOf(got), `${label}: version scan ${e}/${p}`)) mismatches++;
    if (mismatches > 2) return;
  }
  t.equal(seen, model.m.size, `${label}: every record in exactly one partition scan`);
  for (const { key, record } of model.m.values()) {
    if (!t.same(plain(await s.get(key)), plain(record), `${label}: get ${hex(key)}`)) return;
  }
}

t.test('LWW under random interleavings of concurrent applies: the newest version wins', async (t) => {
  for (let seed = 1; seed <= 8; seed++) {
    const rng = new Rng(seed);
    const s = await ReplicaStore.open(DIR, { fs: new MemFileSystem() });
    const model = new Model();
    const ops: [Buffer, StoredRecord][] = [];
    for (let i = 0; i < 25; i++) {
      const key = k(`key-${i}`);
      for (let v = 1 + rng.int(6); v > 0; v--) {
        const r = rec(1000 + rng.int(5), rng.int(3), `n${rng.int(3)}`, { tombstone: rng.chance(0.2), epoch: 1 + rng.int(2), partition: rng.int(3) });
        ops.push([key, r]);
        model.apply(key, r);
      }
    }
    rng.shuffle(ops);
    // Every other apply is given its record's bytes already encoded, as a coordinator's own replica is.
    const results = await Promise.all(ops.map(([key, r], i) => s.apply(key, r, i % 2 === 0 ? {} : { encoded: encodeRecord(r) })));
    let bad = 0;
    results.forEach((res, i) => {
      const [key, r] = ops[i]!;
      // What apply reports is never older than what it was given, and applied means it was the newer.
      if (compareRecords(res.current, r) < 0 || (res.applied && compareRecords(res.current, r) !== 0)) bad++;
      if (!res.applied && compareRecords(r, model.m.get(hex(key))!.record) > 0) bad++;
    });
    t.equal(bad, 0, `seed ${seed}: apply results consistent`);
    await checkAgainstModel(t, s, model, [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]], `seed ${seed}`);
    await s.close();
  }
});

t.test('tombstones are versions: returned by get, win by timestamp, lose to a newer write', async (t) => {
  const s = await ReplicaStore.open(DIR, { fs: new MemFileSystem() });
  t.same(await s.get(k('a')), undefined, 'nothing yet');
  t.same(await s.apply(k('a'), rec(10, 0, 'n1', { value: 'one' })), { applied: true, current: rec(10, 0, 'n1', { value: 'one' }) });
  const tomb = rec(20, 0, 'n2', { tombstone: true });
  t.equal((await s.apply(k('a'), tomb)).applied, true);
  t.same(plain(await s.get(k('a'))), plain(tomb), 'get returns the tombstone itself');
  const stale = await s.apply(k('a'), rec(15, 0, 'n1', { value: 'late' }));
  t.same({ applied: stale.applied, current: plain(stale.current) }, { applied: false, current: plain(tomb) }, 'an older write does not resurrect the key');
  t.same(await scan(s, 1, 0), [[hex(k('a')), plain(tomb)]], 'the tombstone is in its partition scan');
  t.equal((await s.apply(k('a'), tomb)).applied, false, 'the same version again is not rewritten');
  const again = rec(20, 1, 'n1', { value: '' });
  t.equal((await s.apply(k('a'), again)).applied, true, 'a newer write (of an empty value) replaces the tombstone');
  t.same(plain(await s.get(k('a'))), plain(again), 'an empty value is a value');
  await s.close();
});

t.test('partition scans equal the model after random overwrites that move keys between epochs and partitions', async (t) => {
  const rng = new Rng(42);
  const fs = new MemFileSystem();
  let s = await ReplicaStore.open(DIR, { fs });
  const model = new Model();
  // Keys with 00 and ff bytes, a prefix of another, and the empty key; placements at the u32 boundary.
  const keys = [Buffer.alloc(0), k('a'), k('ab'), Buffer.from([0]), Buffer.from([0, 0xff]), Buffer.from([0xff]), ...Array.from({ length: 40 }, () => rng.bytes(1 + rng.int(5)))];
  const placements: [number, number][] = [[1, 0], [1, 1], [1, 0xffff_ffff], [2, 0], [2, 1], [3, 7]];
  for (let i = 0; i < 600; i++) {
    const key = keys[rng.int(keys.length)]!;
    const [epoch, partition] = placements[rng.int(placements.length)]!;
    const r = rec(100 + i - rng.int(30), rng.int(2), `n${rng.int(3)}`, { epoch, partition, tombstone: rng.chance(0.15), value: rng.bytes(rng.int(20)) });
    await s.apply(key, r);
    model.apply(key, r);
  }
  await checkAgainstModel(t, s, model, placements, 'after overwrites');
  // Paging with limit and after gives the same as one scan.
  for (const [e, p] of placements) {
    const all = await scan(s, e, p);
    const paged: [string, unknown][] = [];
    let after: Buffer | undefined;
    for (;;) {
      const page = await scan(s, e, p, after === undefined ? { limit: 3 } : { limit: 3, after });
      paged.push(...page);
      if (page.length < 3) break;
      after = Buffer.from(page[page.length - 1]![0], 'hex');
    }
    t.same(paged, all, `paged scan of ${e}/${p}`);
    const odd = (key: Buffer): boolean => key.length % 2 === 1;
    const only: [string, unknown][] = [];
    for await (const { key, record } of s.scanPartition(e, p, { only: odd, limit: 2 })) only.push([hex(key), plain(record)]);
    t.same(only, all.filter(([key]) => key.length % 4 === 2).slice(0, 2), `scan of ${e}/${p} with only, limit counting the records kept`);
  }
  t.same(placementKey(7, 42, k('k')).toString('hex'), '00000000000000070000002a6b', 'index key as documented in RECORD.md');
  await s.close();
  s = await ReplicaStore.open(DIR, { fs });
  await checkAgainstModel(t, s, model, placements, 'after reopen');
  await s.close();
});

t.test('a version scan longer than a page comes in several pages, together the record scan', async (t) => {
  const s = await ReplicaStore.open(DIR, { fs: new MemFileSystem() });
  t.teardown(() => s.close());
  for (let i = 0; i < 600; i++) await s.apply(k(`key${String(i).padStart(4, '0')}`), rec(100 + i, i % 3, `n${i % 2}`, { epoch: 4, partition: 9, tombstone: i % 7 === 0 }));
  let pages = 0;
  for await (const page of s.scanPartitionVersions(4, 9)) if (page.length > 0) pages++;
  t.ok(pages > 1, `${pages} pages for 600 records`);
  t.same(await scanVersions(s, 4, 9), versionsOf(await scan(s, 4, 9)), 'the pages hold every version, in key order');
});

t.test('a store written before versions were indexed gets its placement index rebuilt on open, once', async (t) => {
  const fs = new MemFileSystem();
  // The previous layout: the same index keys under "by-epoch-partition", entries without a version.
  const old = await IndexedDB.open(DIR, {
    fs,
    indexes: { 'by-epoch-partition': (key, value) => [placementKey(readPlacement(value).epoch, readPlacement(value).partition, key)] },
  });
  const records = [rec(100, 0, 'n1', { epoch: 3, partition: 5 }), rec(101, 2, 'n2', { epoch: 3, partition: 5, tombstone: true, value: new Uint8Array(0) })];
  await old.write(records.map((r, i) => ({ type: 'put' as const, key: k(`key${i}`), value: encodeRecord(r) })));
  await old.close();
  const logged: string[] = [];
  const logger: Logger = { info: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`), warn() {}, error() {} };
  let s = await ReplicaStore.open(DIR, { fs, logger });
  t.same(await scanVersions(s, 3, 5), records.map((r, i) => [hex(k(`key${i}`)), { timestamp: r.timestamp, tombstone: r.tombstone }]), 'versions read from the rebuilt index');
  t.same((await scan(s, 3, 5)).length, 2);
  await s.close();
  s = await ReplicaStore.open(DIR, { fs, logger });
  t.same(await scanVersions(s, 3, 5), versionsOf(await scan(s, 3, 5)), 'reopened: the index is kept');
  await s.close();
  t.equal(logged.filter((l) => l.startsWith('index')).length, 2, 'rebuilt on the first open only');
  t.match(logged.filter((l) => l.startsWith('index')), [/index removed.*"by-epoch-partition"/, new RegExp(`index added.*"${PLACEMENT_INDEX.replace('.', '\\.')}".*"entries":2`)]);
});

t.test('purgeTombstones removes only tombstones older than the grace period, index entries included', async (t) => {
  let now = 100 * DAY;
  const fs = new MemFileSystem();
  let s = await ReplicaStore.open(DIR, { fs, now: () => now, tombstoneGraceMs: 10 * DAY });
  const rng = new Rng(5);
  const model = new Model();
  const put = async (key: Buffer, r: StoredRecord): Promise<void> => {
    await s.apply(key, r);
    model.apply(key, r);
  };
  for (let i = 0; i < 200; i++) {
    const age = rng.int(20 * DAY);
    await put(k(`key-${i}`), rec(now - age, 0, 'n1', { tombstone: rng.chance(0.5), partition: i % 4 }));
  }
  await put(k('exactly-grace'), rec(now - 10 * DAY, 0, 'n1', { tombstone: true }));
  await put(k('just-over'), rec(now - 10 * DAY - 1, 0, 'n1', { tombstone: true }));
  const expired = [...model.m.values()].filter(({ record }) => record.tombstone && now - record.timestamp.physicalMs > 10 * DAY);
  t.ok(expired.length > 30, `${expired.length} tombstones past the grace period`);
  t.equal(await s.purgeTombstones(), expired.length, 'exactly those purged');
  for (const { key } of expired) model.m.delete(hex(key));
  t.same(plain(await s.get(k('exactly-grace'))), plain(rec(now - 10 * DAY, 0, 'n1', { tombstone: true })), 'a tombstone exactly at the grace period is kept');
  t.equal(await s.get(k('just-over')), undefined);
  const placements: [number, number][] = [[1, 0], [1, 1], [1, 2], [1, 3]];
  await checkAgainstModel(t, s, model, placements, 'after purge');
  t.equal(await s.purgeTombstones(), 0, 'nothing more to purge at the same time');
  await s.close();
  now += 10 * DAY; // ten days on, every tombstone from before is past its grace; values never expire
  s = await ReplicaStore.open(DIR, { fs, now: () => now });
  const left = [...model.m.values()].filter(({ record }) => record.tombstone);
  t.equal(await s.purgeTombstones(), left.length, 'the default grace period is 10 days');
  for (const { key } of left) model.m.delete(hex(key));
  await checkAgainstModel(t, s, model, placements, 'after the second purge');
  await s.close();
});

t.test('reopen on the real disk keeps records and both indexes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mds-replica-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let s = await ReplicaStore.open(dir);
  const model = new Model();
  for (let i = 0; i < 50; i++) {
    const r = rec(1000 + i, 0, 'n1', { epoch: 1 + (i % 2), partition: i % 3, tombstone: i % 7 === 0 });
    await s.apply(k(`k${i % 30}`), r);
    model.apply(k(`k${i % 30}`), r);
  }
  await s.close();
  s = await ReplicaStore.open(dir);
  await checkAgainstModel(t, s, model, [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]], 'reopened');
  await s.close();
});

t.test('a crash loses nothing a durable apply() resolved, and leaves record and index in step', async (t) => {
  for (let seed = 1; seed <= 5; seed++) {
    const rng = new Rng(seed);
    const fs = new MemFileSystem();
    const s = await ReplicaStore.open(DIR, { fs });
    const acked = new Model();
    const placements: [number, number][] = [[1, 0], [1, 1], [2, 0], [2, 1]];
    const op = (i: number): [Buffer, StoredRecord] => {
      const [epoch, partition] = placements[rng.int(placements.length)]!;
      return [k(`key-${rng.int(60)}`), rec(i, 0, `n${rng.int(3)}`, { epoch, partition, tombstone: rng.chance(0.1) })];
    };
    for (let round = 0; round < 5; round++) {
      const batch = Array.from({ length: 40 }, (_, i) => op(round * 100 + i));
      await Promise.all(batch.map(([key, r]) => s.apply(key, r, { sync: true })));
      for (const [key, r] of batch) acked.apply(key, r);
    }
    const unacked = Array.from({ length: 30 }, (_, i) => op(1000 + i));
    for (const [key, r] of unacked) s.apply(key, r).catch(() => undefined); // in flight at the crash
    fs.crash();
    const after = await ReplicaStore.open(DIR, { fs });
    let lost = 0;
    const survivors = new Model();
    for (const { key, record } of acked.m.values()) {
      const got = await after.get(key);
      if (got === undefined || compareRecords(got, record) < 0) lost++;
    }
    t.equal(lost, 0, `seed ${seed}: every acknowledged version (or a newer one) survived`);
    for (const key of new Set([...acked.m.values()].map((e) => e.key).concat(unacked.map(([key]) => key)))) {
      const got = await after.get(key);
      if (got !== undefined) survivors.apply(key, got);
    }
    await checkAgainstModel(t, after, survivors, placements, `seed ${seed} after crash`);
    await after.close();
  }
});

t.test('applies that are not durable survive a power loss once the periodic sync has run', async (t) => {
  const fs = new MemFileSystem();
  const s = await ReplicaStore.open(DIR, { fs, syncIntervalMs: 20 });
  for (let i = 0; i < 50; i++) await s.apply(k(`key-${i}`), rec(100 + i, 0, 'n1'));
  const synced = s.stats().walSyncs; // a sync that began before the last apply may not cover it
  await waitFor(() => s.stats().walSyncs > synced, 20_000, 'the periodic WAL sync');
  fs.crash();
  await s.close().catch(() => undefined);
  const after = await ReplicaStore.open(DIR, { fs });
  let present = 0;
  for (let i = 0; i < 50; i++) if ((await after.get(k(`key-${i}`)))?.timestamp.physicalMs === 100 + i) present++;
  t.equal(present, 50, 'every apply before the periodic sync survived');
  await after.close();
});

t.test('within the sync interval a power loss takes unsynced applies, never durable ones', async (t) => {
  const fs = new MemFileSystem();
  const s = await ReplicaStore.open(DIR, { fs, syncIntervalMs: 3_600_000 }); // no periodic sync during the test
  await s.apply(k('durable'), rec(10, 0, 'n1'), { sync: true });
  await s.apply(k('unsynced'), rec(11, 0, 'n1'));
  // An older version applied durably writes nothing, yet its ack still means the stored one is on disk.
  t.equal((await s.apply(k('unsynced'), rec(5, 0, 'n1'), { sync: true })).applied, false, 'the older version is not applied');
  await s.apply(k('lost'), rec(12, 0, 'n1'));
  fs.crash();
  await s.close().catch(() => undefined);
  const after = await ReplicaStore.open(DIR, { fs });
  t.equal((await after.get(k('durable')))?.timestamp.physicalMs, 10, 'the durable apply survived');
  t.equal((await after.get(k('unsynced')))?.timestamp.physicalMs, 11, 'the unsynced apply a durable (refused) apply acknowledged survived');
  t.equal(await after.get(k('lost')), undefined, 'the last unsynced apply was lost: the window the sync interval bounds');
  await after.close();
});

/** A syncIntervalMs no other timer uses: the one setInterval call openWithManualSyncTimer takes over. */
const MANUAL_SYNC_MS = 4_321;

/**
 * Opens a store whose periodic-sync timer the test fires by hand, one tick at a time, rather than
 * waiting for real ones: setInterval is swapped for the duration of the open only.
 */
async function openWithManualSyncTimer(fs: FileSystem, logger: Logger): Promise<{ store: ReplicaStore; tick: () => void }> {
  const real = globalThis.setInterval;
  let tick: (() => void) | undefined;
  globalThis.setInterval = (fn: () => void, ms?: number) => {
    if (ms !== MANUAL_SYNC_MS) return real(fn, ms);
    tick = fn;
    return real(() => undefined, 3_600_000); // a timer the store can unref and clear, that never fires here
  };
  try {
    const store = await ReplicaStore.open(DIR, { fs, syncIntervalMs: MANUAL_SYNC_MS, logger });
    if (tick === undefined) throw new Error('the store started no periodic-sync timer');
    return { store, tick };
  } finally {
    globalThis.setInterval = real;
  }
}

t.test('a failing periodic sync is logged once, not on every tick', async (t) => {
  const fs = new FailingFs();
  const errors: string[] = [];
  const logger: Logger = { info: () => undefined, warn: () => undefined, error: (msg) => void errors.push(msg) };
  const periodic = (): string[] => errors.filter((m) => m.startsWith('periodic WAL sync failed'));
  const { store, tick } = await openWithManualSyncTimer(fs, logger);
  await store.apply(k('unsynced'), rec(1, 0, 'n1'));
  fs.failing = true;
  tick();
  await waitFor(() => periodic().length > 0, 20_000, 'the first failed periodic sync to be logged');
  // Later ticks find the engine refusing (its WAL failed): each sync rejects at once, in a microtask.
  for (let i = 0; i < 5; i++) {
    tick();
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.equal(periodic().length, 1, `the timer logged its failure once in 6 ticks: ${JSON.stringify(periodic())}`);
  t.match(periodic()[0], /injected fsync failure/, 'with the reason');
  t.equal(errors.filter((m) => m.startsWith('WAL write failed')).length, 1, 'and the engine said once that it takes no more writes');
  await t.rejects(store.apply(k('later'), rec(2, 0, 'n1')), /injected fsync failure/, 'as later applies are told');
  await store.close().catch(() => undefined);
});

t.test('bad arguments and a closed store get typed errors', async (t) => {
  const s = await ReplicaStore.open(DIR, { fs: new MemFileSystem() });
  await t.rejects(s.apply('key' as unknown as Uint8Array, rec(1, 0, 'n1')), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(s.apply(Buffer.alloc(64 * 1024 + 1), rec(1, 0, 'n1')), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(s.apply(k('a'), { ...rec(1, 0, 'n1'), epoch: -1 }), { code: 'RECORD_INVALID' });
  await t.rejects(s.get(7 as unknown as Uint8Array), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(scan(s, -1, 0), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(scan(s, 1, 2 ** 32), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(scan(s, 1, 0, { limit: -1 }), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(ReplicaStore.open('/other', { fs: new MemFileSystem(), tombstoneGraceMs: -5 }), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(ReplicaStore.open('/other', { fs: new MemFileSystem(), syncIntervalMs: 1.5 }), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  await t.rejects(s.apply(k('a'), rec(1, 0, 'n1'), { sync: 'yes' as unknown as boolean }), { code: 'REPLICA_STORE_BAD_ARGUMENT' });
  t.same(await s.get(k('a')), undefined, 'refused writes wrote nothing');
  const pending = s.apply(k('a'), rec(1, 0, 'n1'));
  await s.close();
  t.equal((await pending).applied, true, 'close waits for applies in flight');
  await t.rejects(s.get(k('a')), { code: 'REPLICA_STORE_CLOSED' });
  await t.rejects(s.apply(k('a'), rec(2, 0, 'n1')), { code: 'REPLICA_STORE_CLOSED' });
  await t.rejects(s.purgeTombstones(), { code: 'REPLICA_STORE_CLOSED' });
  await t.rejects(scan(s, 1, 0), { code: 'REPLICA_STORE_CLOSED' });
});
