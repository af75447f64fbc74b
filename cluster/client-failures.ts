/**
 * Failed client requests, told to the node's log without flooding it. The first failure after a quiet
 * spell is logged at once, with its error; the failures that follow are counted and summarised once per
 * interval (counts by operation and outcome, and the latest error), until an interval passes with none.
 * A client that gave up (`cancelled`) is not a failure of the node and is left out. Pure: it keeps no
 * clock; the caller calls flush() once per interval (the server, from a timer).
 */
import type { ClientOp, ClientOutcome } from './client-requests.js';

export interface ClientFailure {
  readonly api: string;
  readonly op: ClientOp;
  readonly outcome: ClientOutcome;
  /** The error the client received ("RPC_UNAVAILABLE: 2 of 3 replicas needed, 1 acknowledged"). */
  readonly error?: string;
}

const NOT_FAILURES: ReadonlySet<ClientOutcome> = new Set(['ok', 'not_found', 'cancelled']);

export class ClientFailureLog {
  /** Failures since the last line, by "op outcome". */
  private counts = new Map<string, number>();
  private latest: ClientFailure | undefined;
  /** Whether a line was logged in the current interval: later failures wait for flush(). */
  private summarising = false;

  constructor(readonly intervalMs = 10_000) {}

  /** Records a finished request; returns a line to log now, or undefined. */
  record(e: ClientFailure): string | undefined {
    if (NOT_FAILURES.has(e.outcome)) return undefined;
    if (!this.summarising) {
      this.summarising = true;
      return `client ${e.op} over ${e.api} failed (${e.outcome}): ${e.error ?? 'no error message'}; further failures are summarised every ${this.intervalMs / 1000} s`;
    }
    const k = `${e.op} ${e.outcome}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.latest = e;
    return undefined;
  }

  /** Called every intervalMs: a summary of the failures since the last line, or undefined if none. */
  flush(): string | undefined {
    if (this.counts.size === 0) {
      this.summarising = false; // quiet for a whole interval: the next failure is logged at once
      return undefined;
    }
    let total = 0;
    for (const n of this.counts.values()) total += n;
    const parts = [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    const last = this.latest!;
    this.counts = new Map();
    this.latest = undefined;
    return `${total} more client requests failed in the last ${this.intervalMs / 1000} s (${parts.join(', ')}); the latest: ${last.op} over ${last.api}: ${last.error ?? 'no error message'}`;
  }
}
