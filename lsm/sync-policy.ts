/**
 * Where the WAL's fdatasync runs: on the calling thread or on the thread pool.
 *
 * A sync write waits for the disk either way; what differs is the thread-pool round trip (tens of
 * microseconds) and whether the event loop is free meanwhile. On a fast disk (an fdatasync well under
 * a millisecond) the round trip is a large part of every sync write, so the sync runs on this thread
 * and blocks the loop for less than the hop would cost. On a slow disk the loop should not stop for
 * milliseconds, so the sync goes to the pool, where reads and unsynced writes go on while it waits.
 * Only a lone writer (a group of one, nobody queued behind it) syncs inline: with several writers, a
 * pooled fdatasync lets the others' next writes queue up meanwhile and share the next one (group
 * commit), where an inline one would stop them from being issued at all.
 *
 * The policy times every fdatasync it runs inline, in an average that gives the newest a sixteenth of
 * the weight: a disk whose syncs take 0.4 ms still has a few of 2–4 ms in a thousand (measured here),
 * and a faster-moving average sent every such spike's next 256 syncs to the pool, half of all syncs
 * in a one-writer fillsync. A disk that turns slow still moves over within a few syncs (from 0.4 ms to
 * 5 ms each: the third). Above `limitMs` it moves to the pool, then tries inline again once every
 * `retryAfter` syncs, so a disk that speeds up again is noticed. Pure bookkeeping: the caller passes
 * the measured times.
 */
export class SyncPolicy {
  private averageMs = 0;
  private pooledSince = -1;

  constructor(
    /** Longest average inline fdatasync that keeps syncs on this thread. */
    private readonly limitMs = 1,
    /** Syncs sent to the pool before another inline attempt. */
    private readonly retryAfter = 256,
  ) {}

  /** True if the next fdatasync should run on the calling thread. */
  inline(): boolean {
    if (this.pooledSince < 0) return true;
    if (++this.pooledSince <= this.retryAfter) return false;
    this.pooledSince = -1; // try again; one slow inline sync sends it back
    this.averageMs = this.limitMs;
    return true;
  }

  /** Records how long an inline fdatasync took. */
  record(ms: number): void {
    this.averageMs = this.averageMs === 0 ? ms : this.averageMs + (ms - this.averageMs) / 16;
    if (this.averageMs > this.limitMs) this.pooledSince = 0;
  }

  get pooled(): boolean {
    return this.pooledSince >= 0;
  }
}
