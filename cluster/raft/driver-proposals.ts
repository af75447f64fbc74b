/**
 * Callers waiting for their proposal to be applied (the Decommission method answers only once the
 * removal is committed). A proposal is identified by the index and term the leader appended it at: the
 * entry applied at that index with that term is it; an entry of another term at that index means a new
 * leader overwrote it, and the caller is told to retry.
 */
import { UnavailableError } from '../../rpc/errors.js';
import type { ApplyResult } from '../state/cluster-state.js';
import type { Entry } from './types.js';

interface Waiter {
  readonly term: number;
  readonly resolve: (r: ApplyResult) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class AppliedWaiters {
  private readonly waiting = new Map<number, Waiter>();

  /** Resolves with the apply result of the entry proposed at (index, term); rejects after timeoutMs. */
  wait(index: number, term: number, timeoutMs: number): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Only if still ours: a later wait() at the same index replaced us (its timer is its own).
        if (this.waiting.get(index) === w) this.waiting.delete(index);
        reject(new UnavailableError(`entry ${index} not committed within ${timeoutMs} ms (no quorum?); retry`));
      }, timeoutMs);
      const old = this.waiting.get(index);
      if (old !== undefined) {
        clearTimeout(old.timer);
        old.reject(new UnavailableError(`entry ${index} was replaced by a newer proposal; retry`));
      }
      const w: Waiter = { term, resolve, reject, timer };
      this.waiting.set(index, w);
    });
  }

  /** Called for every applied entry, in order. */
  applied(entry: Entry, result: ApplyResult): void {
    const w = this.waiting.get(entry.index);
    if (w === undefined) return;
    this.waiting.delete(entry.index);
    clearTimeout(w.timer);
    if (entry.term === w.term) w.resolve(result);
    else w.reject(new UnavailableError(`the proposal at index ${entry.index} was lost to a leader change; retry`));
  }

  /** Fails every waiter (snapshot installed over them, or the node stopping). */
  failAll(why: string): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new UnavailableError(`${why}; retry`));
    }
    this.waiting.clear();
  }
}
