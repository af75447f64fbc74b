/**
 * How bench/lsm.ts drives an engine: one operation awaited at a time (with per-op latency), k operations
 * in flight, k writers until both an op count and a duration are reached; plus what it measures around
 * them: a progress line on stderr, the main thread's event-loop delay, the disk's own fdatasync rate and
 * the bytes of a database directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Progress } from './progress.js';

/** Operations done so far in the current phase; the progress line samples it. */
export interface Counter {
  done: number;
}

export interface Timed {
  ops: number;
  seconds: number;
  /** Per-op latency in ms, only where ops are awaited one at a time. */
  lat?: Float64Array;
}

/** n operations, each awaited before the next starts. */
export async function awaited(n: number, op: (i: number) => Promise<unknown>, c: Counter): Promise<Timed> {
  const lat = new Float64Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    lat[i] = performance.now() - t0;
    c.done++;
  }
  return { ops: n, seconds: (performance.now() - start) / 1000, lat };
}

/** n operations with k in flight: k workers each take the next index until all n are issued. */
export async function inFlight(n: number, k: number, op: (i: number) => Promise<unknown>, c: Counter): Promise<Timed> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      await op(next++);
      c.done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
  return { ops: n, seconds: (performance.now() - start) / 1000 };
}

/**
 * k writers issuing operations until at least `minOps` were issued and `minMs` have passed, so that a
 * fast engine runs long enough to measure and a slow one does not run for minutes.
 */
export async function inFlightFor(minOps: number, minMs: number, k: number, op: (i: number) => Promise<unknown>, c: Counter): Promise<Timed> {
  let issued = 0;
  const start = performance.now();
  const more = (): boolean => issued < minOps || performance.now() - start < minMs;
  const worker = async (): Promise<void> => {
    while (more()) {
      await op(issued++);
      c.done++;
    }
  };
  await Promise.all(Array.from({ length: k }, worker));
  return { ops: issued, seconds: (performance.now() - start) / 1000 };
}

/**
 * Runs `fn` with a progress line for `label` on stderr (a bar on a terminal, a line every few seconds
 * otherwise): the fraction is counter.done / total.
 */
export async function withProgress<T>(label: string, total: number, fn: (c: Counter) => Promise<T>): Promise<T> {
  const c: Counter = { done: 0 };
  const p = new Progress();
  const started = performance.now();
  p.start(label, () => {
    const s = (performance.now() - started) / 1000;
    return { fraction: c.done / total, text: `${c.done.toLocaleString('en-US')} ops, ${Math.round(c.done / Math.max(s, 1e-3)).toLocaleString('en-US')} ops/s` };
  });
  try {
    return await fn(c);
  } finally {
    p.stop();
  }
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Samples taken: about one per ms while the loop turns freely, one per blocked stretch otherwise. */
  samples: number;
}

/** The main thread's event-loop delay while `fn` runs (perf_hooks, 1 ms resolution). */
export async function withLoopDelay<T>(fn: () => Promise<T>): Promise<{ result: T; delay: LoopDelay }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const result = await fn();
    // The sampler is a timer: a stretch in which the loop never reached its timers (a phase that runs
    // on microtasks alone) is recorded only when the timer fires next. Let it fire before reading.
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
    h.disable();
    const ms = (ns: number): number => ns / 1e6; // the histogram counts nanoseconds
    return { result, delay: { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), samples: h.count } };
  } finally {
    h.disable();
  }
}

/** The disk's own fdatasync rate: appends small records (a put's WAL record) to a file, fdatasync each. */
export class FdatasyncProbe {
  private readonly file: string;
  private readonly fd: number;
  private readonly rec: Buffer;

  constructor(dir: string, recordBytes: number) {
    this.file = path.join(dir, 'fdatasync-probe');
    this.fd = fs.openSync(this.file, 'w');
    this.rec = Buffer.alloc(recordBytes, 0x61);
  }

  /** Milliseconds for n appends, each followed by fdatasync. */
  run(n: number): number {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      fs.writeSync(this.fd, this.rec);
      fs.fdatasyncSync(this.fd);
    }
    return performance.now() - start;
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.file, { force: true });
  }
}

/** Bytes of every regular file under dir (a directory walk; symlinks are not followed). */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}
