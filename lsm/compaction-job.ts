/**
 * Running one compaction: merge the input tables, keep what some reader can still see, write the result
 * as new tables of the output level (after LevelDB's DoCompactionWork; the code is ours).
 *
 * What is dropped. Entries come in internal-key order, so all versions of a user key arrive together,
 * newest first. `smallestSnapshot` is the oldest sequence any reader may still read at (the oldest live
 * snapshot, else the last sequence). A version is dropped when a newer version of the same key has a
 * sequence <= smallestSnapshot: every reader sees that newer one instead. A tombstone is dropped when
 * its own sequence is <= smallestSnapshot and no level below the output can hold the key
 * (Compaction.isBaseLevelForKey): then nothing older is left for it to hide. Readers that pinned an
 * older Version (open iterators, gets in flight) keep reading the input files, which stay on disk until
 * that Version is released.
 *
 * Output. Tables are cut at targetFileSize, or earlier when they would overlap too much of level+2, but
 * only between two user keys (never between two versions of one key). Each table is synced when it is
 * finished and the directory once at the end, before the edit goes to the manifest; until the edit is
 * installed the outputs are in `pendingOutputs`, so the obsolete-file sweep leaves them alone, and a
 * crash before the install leaves them as orphans that the next open deletes.
 *
 * Cooperation. The merge is synchronous CPU work; the job yields to the event loop every few
 * milliseconds so reads and writes go on, and gives up (removing its outputs) if the DB is closing.
 * With a background thread (THREADS.md) the same function runs in the worker: output numbers then
 * come from the main thread (newFileNumber is async there), and `aborted` is the main thread's abort.
 */
import { performance } from 'node:perf_hooks';
import type { Compaction } from './compaction.js';
import { KIND_DELETION, MAX_SEQUENCE, trailerKind, trailerSequence, validateInternalKey, type InternalKeyComparator } from './dbformat.js';
import { joinPath, type FileSystem, type WritableFile } from './env.js';
import { tableFileName } from './filename.js';
import type { InternalIterator } from './iterator.js';
import { newMergingIterator } from './merging-iterator.js';
import { compressionForLevel, type Retain, type TableSettings } from './flush-job.js';
import { TableBuilder } from './table/table-builder.js';
import type { TableCache, TableHandle } from './table-cache.js';
import type { Table } from './table/table.js';
import type { FileMetaData } from './version-edit.js';
import { LevelIterator } from './version.js';
import { TRAILER_SIZE, userKeyLength } from './dbformat.js';

export interface CompactionContext extends TableSettings {
  fs: FileSystem;
  dir: string;
  icmp: InternalKeyComparator;
  tableCache: TableCache;
  targetFileSize: number;
  /**
   * A number for the next output table, already in the DB's pendingOutputs. Asynchronous in the
   * background thread, which asks the main thread for it (THREADS.md).
   */
  newFileNumber: () => number | Promise<number>;
  /** Output numbers of this job; removed from it (and their files deleted) if the job fails. */
  pendingOutputs: Set<number>;
  /** True once the DB is closing: the job stops at its next yield. */
  aborted: () => boolean;
  retain?: Retain;
}

export interface CompactionResult {
  outputs: FileMetaData[];
  bytesRead: number;
  bytesWritten: number;
  entriesIn: number;
  entriesDropped: number;
}

export class CompactionAbortedError extends Error {
  constructor() {
    super('compaction abandoned: the database is closing');
  }
}

/** Hand table bytes to the file whenever this many are pending. */
const WRITE_CHUNK = 1 << 20;
/** Yield to the event loop after this much uninterrupted work. */
const SLICE_MS = 4;

const yieldToLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Merges the compaction's inputs into new tables (not yet installed: the caller adds them to the edit
 * and logs it). Output numbers stay in ctx.pendingOutputs; on failure the outputs are removed.
 */
export async function runCompaction(c: Compaction, ctx: CompactionContext, smallestSnapshot: number): Promise<CompactionResult> {
  const { icmp, tableCache } = ctx;
  const handles: TableHandle[] = [];
  const outputs: FileMetaData[] = [];
  const created: number[] = [];
  let builder: TableBuilder | undefined;
  let file: WritableFile | undefined;
  let outNumber = 0;
  let smallest: Buffer | undefined;
  const result: CompactionResult = { outputs, bytesRead: c.inputBytes(), bytesWritten: 0, entriesIn: 0, entriesDropped: 0 };

  const finishOutput = async (): Promise<void> => {
    const b = builder!;
    const largest = Buffer.from(b.largestKey()!);
    await b.finish();
    await file!.sync();
    await file!.close();
    file = undefined;
    builder = undefined;
    outputs.push({ number: outNumber, size: b.fileSize, smallest: smallest!, largest });
    result.bytesWritten += b.fileSize;
  };

  try {
    const children: InternalIterator[] = [];
    const acquireAll = async (files: readonly FileMetaData[]): Promise<Table[]> => {
      const tables: Table[] = [];
      for (const f of files) {
        const h = await tableCache.acquire(f.number);
        handles.push(h);
        tables.push(h.value);
      }
      return tables;
    };
    for (const [which, files] of c.inputs.entries()) {
      if (files.length === 0) continue;
      const tables = await acquireAll(files);
      // Past the block cache: a one-off pass must not evict the blocks readers use.
      if (c.level === 0 && which === 0) for (const t of tables) children.push(t.iterator({ fillCache: false }));
      else children.push(new LevelIterator(icmp, files, tables, false));
    }
    const input = newMergingIterator(icmp, children);
    ctx.retain?.(input);

    // The current user key, copied into a reused buffer (no allocation per key).
    let currentUserKey = Buffer.allocUnsafe(64);
    let currentLength = -1;
    let lastSequenceForKey = MAX_SEQUENCE;
    let splitWanted = false;
    let sliceStart = performance.now();
    let n = 0;
    for (input.seekToFirst(); input.valid(); input.next()) {
      if ((++n & 255) === 0 && performance.now() - sliceStart >= SLICE_MS) {
        if (builder !== undefined && builder.pendingBytes >= WRITE_CHUNK) await builder.flush();
        await yieldToLoop();
        if (ctx.aborted()) throw new CompactionAbortedError();
        sliceStart = performance.now();
      }
      const key = input.key();
      validateInternalKey(key);
      const userLength = key.length - TRAILER_SIZE;
      const kind = trailerKind(key, key.length);
      const sequence = trailerSequence(key, key.length);
      const newUserKey = currentLength < 0 || icmp.compareUserRange(key, 0, userLength, currentUserKey, 0, currentLength) !== 0;
      if (newUserKey) {
        if (currentUserKey.length < userLength) currentUserKey = Buffer.allocUnsafe(Math.max(userLength, 2 * currentUserKey.length));
        for (let i = 0; i < userLength; i++) currentUserKey[i] = key[i]!;
        currentLength = userLength;
        lastSequenceForKey = MAX_SEQUENCE;
        if (c.shouldStopBefore(key)) splitWanted = true;
      }
      result.entriesIn++;
      let drop = false;
      if (lastSequenceForKey <= smallestSnapshot) {
        drop = true; // a newer version of this key is visible to every reader
      } else if (kind === KIND_DELETION && sequence <= smallestSnapshot && c.isBaseLevelForKey(key.subarray(0, userLength))) {
        drop = true; // nothing below can hold an older version for it to hide
      }
      lastSequenceForKey = sequence;
      if (drop) {
        result.entriesDropped++;
        continue;
      }
      if (builder !== undefined && newUserKey && (splitWanted || builder.estimatedSize >= ctx.targetFileSize)) await finishOutput();
      if (builder === undefined) {
        splitWanted = false;
        outNumber = await ctx.newFileNumber();
        ctx.pendingOutputs.add(outNumber);
        created.push(outNumber);
        if (ctx.aborted()) throw new CompactionAbortedError();
        file = await ctx.fs.openWritable(joinPath(ctx.dir, tableFileName(outNumber)));
        builder = new TableBuilder(file, {
          comparator: icmp,
          blockSize: ctx.blockSize,
          bitsPerKey: ctx.bitsPerKey,
          compression: compressionForLevel(ctx.compression, c.outputLevel),
          filterKeyLength: userKeyLength,
        });
        smallest = Buffer.from(key);
        ctx.retain?.(builder);
      }
      builder.add(key, input.value());
      if (builder.pendingBytes >= WRITE_CHUNK) await builder.flush();
    }
    if (builder !== undefined) await finishOutput();
    if (ctx.aborted()) throw new CompactionAbortedError();
    if (outputs.length > 0) await ctx.fs.syncDir(ctx.dir);
    return result;
  } catch (err) {
    await file?.close().catch(() => {});
    for (const number of created) {
      await ctx.fs.remove(joinPath(ctx.dir, tableFileName(number))).catch(() => {});
      ctx.pendingOutputs.delete(number);
    }
    throw err;
  } finally {
    for (const h of handles) tableCache.release(h);
  }
}
