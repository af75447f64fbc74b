/**
 * A token bucket on bytes, pure: the caller passes the time and sleeps for the delay it gets back.
 * Bytes are charged after the fact (a page's size is known only once it arrived), so the bucket may go
 * into debt; the delay is the time to pay the debt back at `bytesPerSec`. Burst: one second's worth.
 */
import { AntiEntropyArgumentError } from './service-errors.js';

export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(readonly bytesPerSec: number) {
    if (!Number.isFinite(bytesPerSec) || bytesPerSec <= 0) throw new AntiEntropyArgumentError(`bytes per second must be a positive number, got ${String(bytesPerSec)}`);
    this.tokens = bytesPerSec;
  }

  /** Charges `bytes` at `nowMs`; returns how long to wait, in ms, before moving more bytes (0: none). */
  charge(bytes: number, nowMs: number): number {
    if (this.last !== undefined && nowMs > this.last) {
      this.tokens = Math.min(this.bytesPerSec, this.tokens + ((nowMs - this.last) * this.bytesPerSec) / 1000);
    }
    this.last = this.last === undefined ? nowMs : Math.max(this.last, nowMs);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSec);
  }
}
