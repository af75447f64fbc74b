/**
 * The DB's side of its background thread (compaction-worker.ts): starts the worker at the first job,
 * hands it flushes and compactions, answers its requests for output file numbers, and turns its answers
 * back into table metadata or typed errors. THREADS.md describes the protocol and who owns what.
 *
 * Lifetime. One worker per DB, started lazily. It is ref()'d only while a job runs, so an idle worker
 * never keeps the process alive, and a job in flight is never lost by the process exiting under it.
 *
 * Crashes. If the worker exits or throws while jobs run (killed, out of memory, a bug), each of those
 * jobs is tried again on a new worker, up to MAX_ATTEMPTS in all; after that (or while closing) the job
 * fails with an IOError, which the DB makes its background error. Output numbers handed to a failed
 * attempt are released, so its half-written files are orphans the next obsolete-file sweep deletes.
 */
import { Worker } from 'node:worker_threads';
import {
  compactionSpec,
  fromWireError,
  fromWireFile,
  type CompactionStats,
  type FromWorker,
  type ToWorker,
  type WorkerConfig,
} from './background-messages.js';
import type { Compaction } from './compaction.js';
import { CompactionAbortedError, type CompactionResult } from './compaction-job.js';
import { IOError } from './errors.js';
import type { Memtable } from './memtable.js';
import type { Logger } from './options.js';
import type { FileMetaData } from './version-edit.js';

/** Attempts per job when the worker dies under it. */
const MAX_ATTEMPTS = 3;
/** How long close() lets running jobs finish (compactions are told to stop) before terminating. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface BackgroundThreadOptions {
  config: WorkerConfig;
  logger: Logger;
  /** A new table number, already reserved in the DB's pendingOutputs (asked for by compactions). */
  reserveFileNumber: () => number;
  /** Gives back a number reserved for an attempt that failed. */
  releaseFileNumber: (n: number) => void;
}

type Settled = Extract<FromWorker, { type: 'flushed' | 'compacted' | 'aborted' }>;

interface Job {
  kind: 'flush' | 'compact';
  worker: Worker;
  /** Numbers reserved for this attempt through needFileNumber. */
  reserved: number[];
  resolve: (m: Settled) => void;
  reject: (err: Error) => void;
}

/** The worker died under a job: worth another attempt on a new worker. */
class WorkerExitedError extends IOError {}

/**
 * The node flags the worker takes from the process: the ones that change how our code reports or is
 * profiled. Anything else stays with the main thread: Node refuses V8 and per-process flags in a
 * worker's execArgv (a server started with `--max-old-space-size` would fail every flush), `--input-type`
 * fails a worker started from a file, and a preload written for the main thread can throw in a worker.
 */
const WORKER_FLAGS = /^--(enable-source-maps|(cpu|heap)-prof(-[a-z]+)?|diagnostic-dir|(no|trace|throw|pending)-(warnings|deprecation)|trace-uncaught|unhandled-rejections)(=|$)/;
/** Those of them that take a value, which may also come as the next argument. */
const WITH_VALUE = /^--((cpu|heap)-prof-(dir|name|interval)|diagnostic-dir|unhandled-rejections)$/;

function workerExecArgv(): string[] {
  const argv = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!WORKER_FLAGS.test(a)) continue;
    out.push(a);
    if (WITH_VALUE.test(a) && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

export class BackgroundThread {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextJob = 1;
  private closing = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Workers started and worker deaths under a job, for tests and monitoring. */
  workersStarted = 0;
  crashes = 0;
  /** Compactions that stopped on an abort (close) and removed their outputs. */
  abortedJobs = 0;
  /** Main-thread milliseconds spent copying memtables for flushes (total and the last one). */
  exportMs = 0;
  lastExportMs = 0;
  /** Memtable copies' arenas allocated (the worker gives each back after its flush: see spareArena). */
  arenasAllocated = 0;
  /**
   * The last flushed copy's arena, back from the worker, for the next copy: a ~5 MiB allocation per
   * flush less on this thread, freed on the other one, which fragmented both threads' malloc arenas.
   */
  private spareArena: ArrayBuffer | undefined;
  /** @internal Test hook: called right after a job is posted to the worker. */
  onJobPosted: ((kind: 'flush' | 'compact', worker: Worker) => void) | undefined;

  constructor(private readonly o: BackgroundThreadOptions) {}

  /** Jobs in flight. */
  get running(): number {
    return this.jobs.size;
  }

  /** Writes the memtable as table `number` (reserved by the caller) off this thread; main keeps `mem`. */
  async flush(mem: Memtable, number: number): Promise<FileMetaData> {
    const m = await this.run('flush', (job) => {
      const t0 = performance.now();
      const image = mem.exportImage(this.spareArena);
      if (image.arena === this.spareArena) this.spareArena = undefined;
      else this.arenasAllocated++;
      this.lastExportMs = performance.now() - t0;
      this.exportMs += this.lastExportMs;
      return { msg: { type: 'flush', job, number, image }, transfer: [image.arena, image.nodes.buffer] };
    });
    if (m.type !== 'flushed') throw new IOError(`background flush of table ${number} ended with ${m.type}`);
    return fromWireFile(m.file);
  }

  /** Runs a compaction off this thread; output numbers stay reserved until the caller installs them. */
  async compact(c: Compaction, smallestSnapshot: number): Promise<CompactionResult> {
    const spec = compactionSpec(c, smallestSnapshot);
    const m = await this.run('compact', (job) => ({ msg: { type: 'compact', job, spec }, transfer: [] }));
    if (m.type === 'aborted') throw new CompactionAbortedError();
    if (m.type !== 'compacted') throw new IOError(`background compaction ended with ${m.type}`);
    const stats: CompactionStats = m.stats;
    return { outputs: m.outputs.map(fromWireFile), ...stats };
  }

  /** Tells running compactions to stop, and terminates the worker if jobs are still running after a grace period. */
  beginShutdown(): void {
    if (this.closing) return;
    this.closing = true;
    for (const [job, j] of this.jobs) if (j.kind === 'compact') this.post({ type: 'abort', job });
    if (this.jobs.size > 0) {
      this.graceTimer = setTimeout(() => {
        this.o.logger.warn('background thread did not stop in time; terminating it', { jobs: this.jobs.size });
        void this.worker?.terminate();
      }, SHUTDOWN_GRACE_MS);
      this.graceTimer.unref();
    }
  }

  /** Stops the worker once its jobs have ended (or the grace period has run out: then they fail). */
  async close(): Promise<void> {
    this.beginShutdown();
    if (this.jobs.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    clearTimeout(this.graceTimer);
    const w = this.worker;
    if (w !== undefined) await w.terminate();
  }

  /** Posts a job, retrying on a new worker if the worker dies under it. */
  private async run(kind: Job['kind'], make: (job: number) => { msg: ToWorker; transfer: ArrayBuffer[] }): Promise<Settled> {
    for (let attempt = 1; ; attempt++) {
      if (this.closing && kind === 'compact') throw new CompactionAbortedError();
      try {
        return await this.runOnce(kind, make);
      } catch (err) {
        if (!(err instanceof WorkerExitedError) || attempt >= MAX_ATTEMPTS || this.closing) throw err;
        this.o.logger.warn(`background thread died during a ${kind}; trying again on a new one`, { attempt, error: err.message });
      }
    }
  }

  private runOnce(kind: Job['kind'], make: (job: number) => { msg: ToWorker; transfer: ArrayBuffer[] }): Promise<Settled> {
    const worker = this.ensureWorker();
    const id = this.nextJob++;
    return new Promise<Settled>((resolve, reject) => {
      const job: Job = { kind, worker, reserved: [], resolve, reject };
      this.jobs.set(id, job);
      worker.ref(); // idempotent: a flag, not a count
      try {
        const { msg, transfer } = make(id);
        worker.postMessage(msg, transfer);
      } catch (err) {
        this.settle(id, job);
        reject(err instanceof Error ? err : new IOError(String(err)));
        return;
      }
      this.onJobPosted?.(kind, worker);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = new Worker(new URL('./compaction-worker.js', import.meta.url), {
      workerData: this.o.config,
      execArgv: workerExecArgv(),
      // The worker makes few JS objects: a small young generation keeps its share of the RSS down.
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    this.workersStarted++;
    w.unref();
    let failure: Error | undefined;
    w.on('message', (m: FromWorker) => this.onMessage(w, m));
    w.on('error', (err: Error) => {
      failure = err;
    });
    w.on('messageerror', (err: Error) => {
      failure = err;
      void w.terminate();
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      const lost = [...this.jobs].filter(([, job]) => job.worker === w);
      if (lost.length === 0) return;
      this.crashes++;
      const why = failure === undefined ? `exit code ${code}` : `${failure.name}: ${failure.message}`;
      for (const [id, job] of lost) {
        this.settle(id, job);
        for (const n of job.reserved) this.o.releaseFileNumber(n);
        job.reject(new WorkerExitedError(`background thread stopped during a ${job.kind} (${why})`));
      }
    });
    this.worker = w;
    return w;
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const job = this.jobs.get(m.job);
    if (job === undefined) return;
    switch (m.type) {
      case 'needFileNumber': {
        const number = this.o.reserveFileNumber();
        job.reserved.push(number);
        w.postMessage({ type: 'fileNumber', job: m.job, number } satisfies ToWorker);
        return;
      }
      case 'failed':
        this.settle(m.job, job);
        for (const n of job.reserved) this.o.releaseFileNumber(n);
        job.reject(fromWireError(m.error));
        return;
      case 'aborted':
        this.abortedJobs++;
        this.settle(m.job, job);
        for (const n of job.reserved) this.o.releaseFileNumber(n);
        job.resolve(m);
        return;
      default:
        if (m.type === 'flushed') this.spareArena = m.arena;
        this.settle(m.job, job);
        job.resolve(m);
    }
  }

  /** Forgets a finished job; an idle worker stops holding the process open. */
  private settle(id: number, job: Job): void {
    if (this.jobs.get(id) !== job) return;
    this.jobs.delete(id);
    if (![...this.jobs.values()].some((j) => j.worker === job.worker)) job.worker.unref();
    if (this.jobs.size === 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  private post(m: ToWorker): void {
    this.worker?.postMessage(m);
  }
}
