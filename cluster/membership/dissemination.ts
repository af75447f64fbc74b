/**
 * The dissemination queue: membership changes waiting to be piggy-backed on outgoing messages. Each
 * change is sent about λ·log(n) times (SWIM's infection-style dissemination: after that many rounds an
 * update has reached every member with high probability), changes sent the fewest times go first, and a
 * newer change of a member replaces the older one (the queue holds member ids; the current record is sent).
 */
export class DisseminationQueue {
  /** Member id → times sent. Map order is insertion order, so later entries are newer changes. */
  private readonly pending = new Map<string, number>();

  /** Queues (or re-queues, with a fresh count) the current record of a member. */
  enqueue(id: string): void {
    this.pending.delete(id);
    this.pending.set(id, 0);
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Takes up to `max` ids to piggy-back on one message, the least-sent (then newest) first, counts the
   * transmission, and drops ids that have now been sent `limit` times.
   */
  take(max: number, limit: number): string[] {
    if (this.pending.size === 0 || max <= 0) return [];
    const entries = [...this.pending].reverse();
    entries.sort((a, b) => a[1] - b[1]);
    const chosen = entries.slice(0, max);
    for (const [id, sent] of chosen) {
      if (sent + 1 >= limit) this.pending.delete(id);
      else this.pending.set(id, sent + 1);
    }
    return chosen.map(([id]) => id);
  }
}
