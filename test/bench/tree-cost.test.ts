/** The tree-cost measurement (bench/lib/tree-cost.ts) on a real replica store in a temporary directory. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { epochsWithRecords, measureTreeCost, type TreeCost } from '../../bench/lib/tree-cost.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import type { StoredRecord } from '../../cluster/storage/record.js';

const PARTITIONS = 8;
const EPOCHS = [2, 5, 9]; // gaps, so discovery has to seek past empty epochs
const KEYS = 2000;

function rec(i: number, epoch: number, physicalMs: number, tombstone = false): StoredRecord {
  return {
    value: tombstone ? new Uint8Array(0) : Buffer.from(`value-${i}`),
    timestamp: { physicalMs, logical: 0, node: 'n1' },
    epoch,
    partition: i % PARTITIONS,
    tombstone,
  };
}

/** Writes KEYS keys over EPOCHS × PARTITIONS; every 10th is deleted and every 7th rewritten in a newer epoch. */
async function fill(dir: string): Promise<Map<number, number>> {
  const store = await ReplicaStore.open(dir);
  const keyOf = (i: number) => Buffer.from(`key-${String(i).padStart(12, '0')}`); // 16 bytes
  const perEpoch = new Map<number, number>();
  const epochOf = new Map<number, number>();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < KEYS; i++) {
    const epoch = EPOCHS[i % EPOCHS.length]!;
    epochOf.set(i, epoch);
    writes.push(store.apply(keyOf(i), rec(i, epoch, 1000, i % 10 === 0)));
  }
  await Promise.all(writes);
  // A newer version in a later epoch moves the key's index entry: it must be counted once, there.
  const moves: Promise<unknown>[] = [];
  for (let i = 0; i < KEYS; i += 7) {
    moves.push(store.apply(keyOf(i), rec(i, EPOCHS[2]!, 2000)));
    epochOf.set(i, EPOCHS[2]!);
  }
  await Promise.all(moves);
  await store.close();
  for (const epoch of epochOf.values()) perEpoch.set(epoch, (perEpoch.get(epoch) ?? 0) + 1);
  return perEpoch;
}

function checkFigures(t: Test, r: TreeCost): void {
  for (const [name, v] of Object.entries({ cpuMs: r.cpuMs, wallMs: r.wallMs, cpuMsPer100k: r.cpuMsPer100k, wallMsPer100k: r.wallMsPer100k, ...r.split })) {
    t.ok(Number.isFinite(v) && v > 0, `${name} is finite and positive (${v})`);
  }
}

t.test('measures every record of every epoch and partition, once, with positive costs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tree-cost-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const perEpoch = await fill(dir);

  const found = await measureTreeCost(dir, { partitions: PARTITIONS });
  t.equal(found.records, KEYS, 'records: every key written, a moved key once');
  t.equal(found.epochs, 3);
  t.same([found.from, found.to], [EPOCHS[0], EPOCHS[2]], 'discovered range');
  t.equal(found.partitions, PARTITIONS);
  t.equal(found.builds, EPOCHS.length * PARTITIONS, 'one tree per epoch with records and partition');
  checkFigures(t, found);
  const { median, max } = found.perEpoch!;
  t.equal(max.records, perEpoch.get(max.epoch), 'the max epoch carries its own record count');
  t.equal(median.records, perEpoch.get(median.epoch), 'the median epoch carries its own record count');
  t.ok(median.cpuMs <= max.cpuMs && median.cpuMs > 0, 'median <= max');

  // The store was closed (its lock released): a range given by the caller opens it again.
  const ranged = await measureTreeCost(dir, { partitions: PARTITIONS, fromEpoch: 0, toEpoch: 10, warmUpRecords: 0 });
  t.equal(ranged.records, KEYS, 'same records over a range with empty epochs');
  t.equal(ranged.epochs, 3, 'empty epochs are not counted');
  t.same([ranged.from, ranged.to], [0, 10]);
  t.equal(ranged.builds, 11 * PARTITIONS, 'empty epochs of a given range are built too');
  checkFigures(t, ranged);

  // Fewer partitions than the store holds: only those partitions' records.
  const two = await measureTreeCost(dir, { partitions: 2, fromEpoch: EPOCHS[1], toEpoch: EPOCHS[2], warmUpRecords: 0 });
  const store = await ReplicaStore.open(dir);
  let want = 0;
  for (const e of [EPOCHS[1]!, EPOCHS[2]!]) for (let p = 0; p < 2; p++) for await (const _ of store.scanPartition(e, p)) want++;
  t.same(await epochsWithRecords(store, PARTITIONS), EPOCHS, 'epochsWithRecords finds exactly the epochs written');
  await store.close();
  t.equal(two.records, want, 'partitions and epoch bounds restrict what is measured');
  t.ok(want > 0 && want < KEYS);
});

t.test('discovery finds an epoch whose only record of a partition has the empty key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tree-cost-emptykey-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ReplicaStore.open(dir);
  await store.apply(Buffer.from('a'), rec(1, 3, 1000));
  await store.apply(Buffer.alloc(0), { ...rec(1, 4, 1000), partition: 1 });
  t.same(await epochsWithRecords(store, PARTITIONS), [3, 4]);
  await store.close();
  const r = await measureTreeCost(dir, { partitions: PARTITIONS, warmUpRecords: 0 });
  t.equal(r.records, 2);
  t.equal(r.epochs, 2);
});

t.test('bad input: a clear error, and no store created where there was none', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tree-cost-empty-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const missing = join(dir, 'no-store');
  await t.rejects(measureTreeCost(missing, { partitions: 8 }), /no replica store here/);
  t.notOk(existsSync(missing), 'nothing created');
  await t.rejects(measureTreeCost(dir, { partitions: 0 }), RangeError);
  await t.rejects(measureTreeCost(dir, { partitions: 8, fromEpoch: 5, toEpoch: 4 }), /after toEpoch/);
  await t.rejects(measureTreeCost(dir, { partitions: 8, fromEpoch: -1 }), RangeError);
  await t.rejects(measureTreeCost(dir, { partitions: 8, warmUpRecords: 1.5 }), RangeError);
  await t.rejects(measureTreeCost(dir, { partitions: 8, fromEpoch: 0, toEpoch: 1e12 }), /at most/);
});

t.test('an empty store: zero records, NaN per-100k figures, no per-epoch summary', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tree-cost-none-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await (await ReplicaStore.open(dir)).close();
  const r = await measureTreeCost(dir, { partitions: 4 });
  t.equal(r.records, 0);
  t.equal(r.epochs, 0);
  t.ok(Number.isNaN(r.cpuMsPer100k));
  t.equal(r.perEpoch, undefined);
});
