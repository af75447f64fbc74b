/**
 * Keeps the engine from holding the event loop. A get() or an inline put() finishes in the caller's
 * task (microseconds, no I/O callback), so a caller that awaits them in a tight loop would never let
 * the event loop turn: timers, sockets and every other part of the process would wait until it stops.
 * The engine therefore gives the loop one macrotask turn (setImmediate) whenever `sliceMs` have passed
 * since the last one it gave; operations in between go on synchronously. The clock is read once every
 * CHECK_EVERY operations, so the cost is a fraction of a microsecond per operation plus one turn
 * (~10 µs) per slice.
 */
import { performance } from 'node:perf_hooks';

const CHECK_EVERY = 16;

export class LoopTurns {
  private lastTurn = performance.now();
  private ops = 0;
  private dueNow = false;
  private turning: Promise<void> | undefined;

  constructor(private readonly sliceMs = 2) {}

  /** True when the next operation should wait for turn() first. */
  due(): boolean {
    if (this.dueNow) return true;
    if (++this.ops < CHECK_EVERY) return false;
    this.ops = 0;
    this.dueNow = performance.now() - this.lastTurn >= this.sliceMs;
    return this.dueNow;
  }

  /** Resolves after one macrotask turn; concurrent callers share it. */
  turn(): Promise<void> {
    this.turning ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.lastTurn = performance.now();
        this.dueNow = false;
        this.ops = 0;
        this.turning = undefined;
        resolve();
      }),
    );
    return this.turning;
  }
}
