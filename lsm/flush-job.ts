/**
 * Writing a memtable as a table file (a flush, or a WAL replayed at open): the same steps whichever
 * thread runs them — the DB's own (db.ts) or the background thread (compaction-worker.ts, over a copy
 * of the memtable; see THREADS.md).
 *
 * The table is built from the memtable's iterator, synced, closed, and its name made durable (syncDir)
 * before the metadata is returned, so the caller can record it in the manifest at once. On failure the
 * file is removed and the error passed on. The caller has reserved `number` (pendingOutputs), so the
 * obsolete-file sweep leaves the file alone while it is written.
 */
import type { InternalKeyComparator } from './dbformat.js';
import { userKeyLength } from './dbformat.js';
import { joinPath, type FileSystem, type WritableFile } from './env.js';
import { tableFileName } from './filename.js';
import type { InternalIterator } from './iterator.js';
import { CompressionType } from './table/format.js';
import { TableBuilder } from './table/table-builder.js';
import type { FileMetaData } from './version-edit.js';

/**
 * Tables of levels below this one are written uncompressed, whatever the compression option says.
 * L0 and L1 are small (a few memtables, maxBytesForLevelBase) and rewritten by nearly every compaction,
 * so compressing them would spend most of the codec's CPU on bytes that live minutes; the levels below
 * hold nearly all the data, and a full compaction leaves everything compressed (RocksDB's common
 * per-level setting, for the same reason).
 */
export const COMPRESSED_FROM_LEVEL = 2;

/** The compression a table written to `level` gets. */
export function compressionForLevel(compression: CompressionType, level: number): CompressionType {
  return level >= COMPRESSED_FROM_LEVEL ? compression : CompressionType.None;
}

/** How new tables are built: the same for flushes and compactions. */
export interface TableSettings {
  blockSize: number;
  bitsPerKey: number;
  compression: CompressionType;
}

/** Given the builders and iterators a job makes: the background thread keeps them (compaction-worker.ts). */
export type Retain = (o: object) => void;

export interface FlushContext extends TableSettings {
  fs: FileSystem;
  dir: string;
  icmp: InternalKeyComparator;
  retain?: Retain;
}

/** The table hands its bytes to the file whenever this many are pending. */
const FLUSH_CHUNK = 1 << 20;
/** Entries between yields to the event loop (building a 4 MiB table is tens of milliseconds of CPU). */
const YIELD_EVERY = 4096;


/** Writes every entry of `it` (in order, at least one) as table `number`; returns its metadata. */
export async function writeTableFile(ctx: FlushContext, it: InternalIterator, number: number): Promise<FileMetaData> {
  const path = joinPath(ctx.dir, tableFileName(number));
  let file: WritableFile | undefined;
  try {
    file = await ctx.fs.openWritable(path);
    const builder = new TableBuilder(file, {
      comparator: ctx.icmp,
      blockSize: ctx.blockSize,
      bitsPerKey: ctx.bitsPerKey,
      compression: compressionForLevel(ctx.compression, 0),
      filterKeyLength: userKeyLength,
    });
    ctx.retain?.(it);
    ctx.retain?.(builder);
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next()) {
      builder.add(it.key(), it.value());
      if (builder.pendingBytes >= FLUSH_CHUNK) await builder.flush();
      if (++n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const smallest = Buffer.from(builder.smallestKey()!);
    const largest = Buffer.from(builder.largestKey()!);
    await builder.finish();
    await file.sync();
    await file.close();
    file = undefined;
    await ctx.fs.syncDir(ctx.dir);
    return { number, size: builder.fileSize, smallest, largest };
  } catch (err) {
    await file?.close().catch(() => {});
    await ctx.fs.remove(path).catch(() => {});
    throw err;
  }
}
