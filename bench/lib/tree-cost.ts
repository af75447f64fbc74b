/**
 * The CPU cost of building anti-entropy Merkle trees (issue 8: "ms per 100,000 records"), measured on
 * a stopped node's replica store: for every epoch holding records and every partition, the tree of
 * (partition, [epoch, epoch]) built the way the service builds it (TreeSource over the (epoch,
 * partition, key) index, then root() so hashing is included).
 *
 * After an unmeasured warm-up (warmUp), two passes over the same epochs:
 *  1. the figure: TreeSource.build + root(), process.cpuUsage() (user + system, every thread of the
 *     process: libuv's file reads and GC helpers count) and wall time around the whole loop;
 *  2. the split: the index read alone (scanPartitionVersions into an array, no tree), then the tree alone
 *     (add + root over that array), timed apart per epoch.
 * The OS page cache is warm for both passes (the node just wrote the files, the warm-up and pass 1
 * read them);
 * the engine's block cache (8 MiB) holds whatever the previous pass left, so pass 2's index read can be
 * slightly cheaper than its share of pass 1. Its two parts add up to about pass 1, not exactly.
 *
 * TreeSource gets a pause that resolves at once: the service's yields to the event loop (setImmediate)
 * are scheduling, not work, and would only add wall time here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MerkleTree } from '../../cluster/antientropy/merkle-tree.js';
import { TreeSource } from '../../cluster/antientropy/tree-source.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import type { RecordVersion } from '../../cluster/storage/record.js';

export interface TreeCostOptions {
  /** The cluster's partition count P: trees are built for partitions 0..P-1. */
  partitions: number;
  /**
   * Epochs to measure. Without both bounds the epochs holding records are found first (one index seek
   * per partition and epoch with data, outside the measurement) and kept if within the given bound.
   * With both, every epoch of the range is built; an empty one costs one seek per partition.
   */
  fromEpoch?: number;
  toEpoch?: number;
  /** Records built, unmeasured, before pass 1 (default WARM_UP_RECORDS); 0 for none. */
  warmUpRecords?: number;
}

/** One epoch's builds over all partitions, pass 1. */
export interface EpochCost {
  epoch: number;
  records: number;
  cpuMs: number;
}

export interface TreeCost {
  /** Epochs that held records, and the range measured. */
  epochs: number;
  from: number;
  to: number;
  partitions: number;
  /** Records read into trees (each key once: the index holds a key in its record's epoch only). */
  records: number;
  /**
   * Trees built per pass (epochs measured × partitions). Each costs a fixed ~0.1 ms (an index seek, a
   * new tree's 35 KiB) whatever it holds, so few records per (partition, epoch) raise the per-100k figures.
   */
  builds: number;
  /** Pass 1, whole loop. Per-100k figures are NaN when there are no records. */
  cpuMs: number;
  wallMs: number;
  cpuMsPer100k: number;
  wallMsPer100k: number;
  /** Pass 2: where the time goes. */
  split: { indexCpuMs: number; treeCpuMs: number; indexCpuMsPer100k: number; treeCpuMsPer100k: number };
  /** Median and most expensive epoch (by CPU, pass 1), among epochs that held records. */
  perEpoch: { median: EpochCost; max: EpochCost } | undefined;
  /** Engine flushes + compactions that ran during the passes: non-zero means the figures include them. */
  backgroundJobs: number;
  /** Tables per LSM level at the start (L0 files make every read dearer). */
  levelFiles: number[];
}

/** The store's largest epoch (scanPartition's bound). */
const MAX_EPOCH = Number.MAX_SAFE_INTEGER - 1;

/** Largest range the caller may give: each epoch costs a seek per partition even when empty. */
const MAX_RANGE_EPOCHS = 1_000_000;

const noPause = (): Promise<void> => Promise.resolve();

/** CPU ms (user + system) since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function per100k(ms: number, records: number): number {
  return records === 0 ? NaN : (ms * 100_000) / records;
}

function checkEpoch(what: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  return v;
}

/**
 * The epochs holding records of partitions 0..P-1, ascending. Per partition, scanPartitionAllEpochs
 * with limit 1 resumed after (epoch + 1, empty key) seeks straight to the partition's next epoch with
 * data: one seek per partition and epoch with data. That resume point skips only the empty key's index
 * entry; a key is in one (epoch, partition) only, so the empty key's record, if any, adds its epoch.
 */
export async function epochsWithRecords(store: ReplicaStore, partitions: number): Promise<number[]> {
  const epochs = new Set<number>();
  const emptyKey = await store.get(new Uint8Array(0));
  if (emptyKey !== undefined && emptyKey.partition < partitions) epochs.add(emptyKey.epoch);
  for (let p = 0; p < partitions; p++) {
    let after: { epoch: number; key: Uint8Array } | undefined;
    for (;;) {
      let found: number | undefined;
      for await (const { epoch } of store.scanPartitionAllEpochs(p, { limit: 1, ...(after === undefined ? {} : { after }) })) found = epoch;
      if (found === undefined) break;
      epochs.add(found);
      if (found >= MAX_EPOCH) break;
      after = { epoch: found + 1, key: new Uint8Array(0) };
    }
  }
  return [...epochs].sort((a, b) => a - b);
}

/** Pass 1: the figure. Returns per-epoch costs (empty epochs included) and the totals. */
async function buildAll(source: TreeSource, epochs: readonly number[], partitions: number): Promise<{ costs: EpochCost[]; cpuMs: number; wallMs: number }> {
  const costs: EpochCost[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (const epoch of epochs) {
    const epochCpu0 = process.cpuUsage();
    let records = 0;
    for (let p = 0; p < partitions; p++) {
      const built = await source.build(p, { from: epoch, to: epoch });
      built.tree.root();
      records += built.records;
    }
    costs.push({ epoch, records, cpuMs: cpuSince(epochCpu0) });
  }
  return { costs, cpuMs: cpuSince(cpu0), wallMs: performance.now() - wall0 };
}

export const WARM_UP_RECORDS = 5_000;

/**
 * Builds, unmeasured, the trees of the first epochs until `atLeast` records: a node measures in a
 * long-running process whose hot paths are compiled, while a fresh one would charge the JIT to the
 * first epochs (several times the steady cost on a small store).
 */
async function warmUp(source: TreeSource, epochs: readonly number[], partitions: number, atLeast: number): Promise<void> {
  if (atLeast === 0) return;
  let records = 0;
  for (const epoch of epochs) {
    for (let p = 0; p < partitions; p++) {
      const built = await source.build(p, { from: epoch, to: epoch });
      built.tree.root();
      records += built.records;
    }
    if (records >= atLeast) return;
  }
}

/** Pass 2: index read and tree apart, one epoch at a time (its records fit in memory). */
async function buildSplit(store: ReplicaStore, epochs: readonly number[], partitions: number): Promise<{ indexCpuMs: number; treeCpuMs: number }> {
  let indexCpuMs = 0;
  let treeCpuMs = 0;
  for (const epoch of epochs) {
    const read = process.cpuUsage();
    const perPartition: { key: Uint8Array; version: RecordVersion }[][] = [];
    for (let p = 0; p < partitions; p++) {
      const rows: { key: Uint8Array; version: RecordVersion }[] = [];
      for await (const page of store.scanPartitionVersions(epoch, p)) rows.push(...page);
      perPartition.push(rows);
    }
    indexCpuMs += cpuSince(read);
    const build = process.cpuUsage();
    for (const rows of perPartition) {
      const tree = new MerkleTree();
      for (const { key, version } of rows) tree.add(key, version.timestamp, version.tombstone);
      tree.root();
    }
    treeCpuMs += cpuSince(build);
  }
  return { indexCpuMs, treeCpuMs };
}

function sum(ns: readonly number[]): number {
  return ns.reduce((a, b) => a + b, 0);
}

/**
 * Opens the replica store in `storeDir` (a node's `<data>/store`; the node must be stopped, the store
 * is locked while open), measures, closes it. Error for a directory without a store (opening would
 * create an empty one) and for bad options.
 */
export async function measureTreeCost(storeDir: string, opts: TreeCostOptions): Promise<TreeCost> {
  const { partitions } = opts;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > 0xffff_ffff) throw new RangeError(`partitions must be a positive integer, got ${String(partitions)}`);
  const fromOpt = checkEpoch('fromEpoch', opts.fromEpoch);
  const toOpt = checkEpoch('toEpoch', opts.toEpoch);
  if (fromOpt !== undefined && toOpt !== undefined && fromOpt > toOpt) throw new RangeError(`fromEpoch ${fromOpt} is after toEpoch ${toOpt}`);
  if (fromOpt !== undefined && toOpt !== undefined && toOpt - fromOpt >= MAX_RANGE_EPOCHS) throw new RangeError(`epochs ${fromOpt}..${toOpt}: at most ${MAX_RANGE_EPOCHS} epochs per range`);
  const warmUpRecords = opts.warmUpRecords ?? WARM_UP_RECORDS;
  if (!Number.isSafeInteger(warmUpRecords) || warmUpRecords < 0) throw new RangeError(`warmUpRecords must be a non-negative integer, got ${warmUpRecords}`);
  if (!existsSync(join(storeDir, 'CURRENT'))) throw new Error(`${storeDir}: no replica store here (no CURRENT file); pass a node's <data>/store directory`);

  const store = await ReplicaStore.open(storeDir);
  try {
    const levelFiles = store.stats().levelFiles;
    let epochs: number[];
    if (fromOpt !== undefined && toOpt !== undefined) {
      epochs = Array.from({ length: toOpt - fromOpt + 1 }, (_, i) => fromOpt + i);
    } else {
      epochs = (await epochsWithRecords(store, partitions)).filter((e) => e >= (fromOpt ?? 0) && e <= (toOpt ?? Number.MAX_SAFE_INTEGER));
    }
    const jobs = (): number => {
      const s = store.stats();
      return s.flushes + s.compactions;
    };
    const jobs0 = jobs();
    await warmUp(new TreeSource(store, noPause), epochs, partitions, warmUpRecords);
    const pass1 = await buildAll(new TreeSource(store, noPause), epochs, partitions);
    const pass2 = await buildSplit(store, epochs, partitions);
    const backgroundJobs = jobs() - jobs0;

    const filled = pass1.costs.filter((c) => c.records > 0);
    const records = sum(filled.map((c) => c.records));
    const byCpu = [...filled].sort((a, b) => a.cpuMs - b.cpuMs);
    const median = byCpu[Math.floor((byCpu.length - 1) / 2)];
    const max = byCpu[byCpu.length - 1];
    return {
      epochs: filled.length,
      from: epochs[0] ?? fromOpt ?? 0,
      to: epochs[epochs.length - 1] ?? toOpt ?? 0,
      partitions,
      records,
      builds: epochs.length * partitions,
      cpuMs: pass1.cpuMs,
      wallMs: pass1.wallMs,
      cpuMsPer100k: per100k(pass1.cpuMs, records),
      wallMsPer100k: per100k(pass1.wallMs, records),
      split: { ...pass2, indexCpuMsPer100k: per100k(pass2.indexCpuMs, records), treeCpuMsPer100k: per100k(pass2.treeCpuMs, records) },
      perEpoch: median === undefined || max === undefined ? undefined : { median, max },
      backgroundJobs,
      levelFiles,
    };
  } finally {
    await store.close();
  }
}
