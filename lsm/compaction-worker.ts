/**
 * The background thread's entry (a worker_threads Worker, one per open DB; background-thread.ts starts
 * it). It writes tables and nothing else: a flush builds an L0 table from a copy of a frozen memtable,
 * a compaction merges input tables with runCompaction — the same code the DB runs when it has no
 * background thread. It never touches the manifest, CURRENT, the WAL or another file's name: output
 * numbers come from the main thread, and results go back as metadata for the main thread to install.
 * THREADS.md describes the protocol and who owns what.
 *
 * Jobs run concurrently (a flush while a compaction runs), each an async task on this thread's loop.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { compactionFromSpec, toWireError, toWireFile, type FromWorker, type ToWorker, type WorkerConfig } from './background-messages.js';
import { CompactionAbortedError, runCompaction, type CompactionContext } from './compaction-job.js';
import { bytewiseComparator } from './comparator.js';
import { InternalKeyComparator, userKeyLength } from './dbformat.js';
import { writeTableFile } from './flush-job.js';
import { Memtable } from './memtable.js';
import { NodeFileSystem } from './node-fs.js';
import { silentLogger } from './options.js';
import { TableCache } from './table-cache.js';
import { lowerThreadPriority } from './thread-priority.js';

/** Input tables are read once per compaction: a few open at a time, and no block cache at all. */
const MAX_OPEN_INPUTS = 16;

const port = parentPort;
if (port === null) throw new Error('compaction-worker.js runs as a worker thread only');
const config = workerData as WorkerConfig;
// Flushes and compactions take the CPU the main thread leaves (thread-priority.ts).
lowerThreadPriority();
const fs = new NodeFileSystem();
const icmp = new InternalKeyComparator(bytewiseComparator);
const tableCache = new TableCache({
  fs,
  dir: config.dir,
  comparator: icmp,
  filterKeyLength: userKeyLength,
  maxOpenFiles: MAX_OPEN_INPUTS,
  blockCacheSize: 0,
  verifyChecksums: config.verifyChecksums,
  logger: silentLogger,
});
const aborted = new Set<number>();
/** Per compaction job, the pending request for an output number. */
const numberWaiters = new Map<number, (n: number) => void>();
let running = 0;

/**
 * A full collection of this isolate, run when the worker goes idle. Its garbage is almost all array
 * buffers (memtable copies, blocks read and written), which V8 collects only after ~64 MiB of them
 * pile up: this thread allocates few JS objects, so its young generation rarely fills. Measured at
 * 300,000 entries: +86 MiB process RSS over the in-thread path without it, +45 MiB with it (THREADS.md).
 * Undefined if the V8 flag cannot be set.
 */
const collectGarbage = ((): (() => void) | undefined => {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * The latest object of each class a job made (builders, iterators, the compaction and its context),
 * kept until a newer one replaces it. Without them, a collection between jobs finds no builder or
 * iterator alive and frees their hidden classes; V8 then deoptimizes every hot function and compiles it
 * again on its compiler threads, ~0.2 s of CPU per collection. Over 500,000 puts and 500,000
 * overwrites, collecting at every idle moment cost those threads 8.5-10 s of CPU without this, 3.6-4.4 s
 * with it (2.2 s with no idle collection at all), and peak RSS did not grow. It holds at most one
 * compaction's input iterators (their current blocks and read-ahead buffers, ~1-2 MiB) and one flushed
 * memtable copy's node records (~0.6 MiB; its arena has gone back to the main thread).
 */
const latestOfClass = new Map<unknown, object>();
const retain = (o: object): void => {
  latestOfClass.set(o.constructor, o);
};

function jobStarted(): void {
  running++;
}

function jobEnded(): void {
  if (--running === 0 && collectGarbage !== undefined) {
    setImmediate(() => {
      if (running === 0) collectGarbage();
    });
  }
}

const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'flush':
      void flush(m);
      break;
    case 'compact':
      void compact(m.job, m);
      break;
    case 'fileNumber': {
      const resolve = numberWaiters.get(m.job);
      numberWaiters.delete(m.job);
      resolve?.(m.number);
      break;
    }
    case 'abort':
      aborted.add(m.job);
      break;
  }
});

async function flush(m: Extract<ToWorker, { type: 'flush' }>): Promise<void> {
  jobStarted();
  try {
    const mem = Memtable.fromImage(m.image, icmp);
    const ctx = { ...config, fs, icmp, retain };
    latestOfClass.set('flush context', ctx);
    const file = await writeTableFile(ctx, mem.iterator(), m.number);
    // The copy's arena goes back for the next flush's copy (the memtable over it is not used again).
    post({ type: 'flushed', job: m.job, file: toWireFile(file), arena: m.image.arena }, [m.image.arena]);
  } catch (err) {
    post({ type: 'failed', job: m.job, error: toWireError(err) });
  } finally {
    jobEnded();
  }
}

async function compact(job: number, m: Extract<ToWorker, { type: 'compact' }>): Promise<void> {
  jobStarted();
  const ctx: CompactionContext = {
    fs,
    dir: config.dir,
    icmp,
    tableCache,
    blockSize: config.blockSize,
    bitsPerKey: config.bitsPerKey,
    compression: config.compression,
    targetFileSize: config.levels.targetFileSize,
    newFileNumber: () =>
      new Promise<number>((resolve) => {
        numberWaiters.set(job, resolve);
        post({ type: 'needFileNumber', job });
      }),
    pendingOutputs: new Set<number>(),
    aborted: () => aborted.has(job),
    retain,
  };
  latestOfClass.set('compaction context', ctx);
  try {
    const c = compactionFromSpec(m.spec, config.levels, icmp);
    retain(c);
    const r = await runCompaction(c, ctx, m.spec.smallestSnapshot);
    post({
      type: 'compacted',
      job,
      outputs: r.outputs.map(toWireFile),
      stats: { bytesRead: r.bytesRead, bytesWritten: r.bytesWritten, entriesIn: r.entriesIn, entriesDropped: r.entriesDropped },
    });
  } catch (err) {
    post(err instanceof CompactionAbortedError ? { type: 'aborted', job } : { type: 'failed', job, error: toWireError(err) });
  } finally {
    aborted.delete(job);
    numberWaiters.delete(job);
    // The inputs are about to be deleted: close them now, or their disk space stays held by our fds.
    for (const files of m.spec.inputs) for (const f of files) tableCache.evict(f.number);
    jobEnded();
  }
}
