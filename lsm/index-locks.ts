/**
 * Per-key locks for IndexedDB's read-before-write: a writer holds the locks of the keys it writes from
 * before it reads their old values until its batch is applied, so two writers of one key cannot both
 * read the same old value (which would leave a stale index entry behind). Writers of different keys do
 * not wait for each other and still share the engine's group commit.
 *
 * A writer queues for all its keys at once, synchronously inside acquire(), so every key's queue
 * follows one global order of writers (the order of acquire() calls): no two writers can each hold a
 * lock the other waits for, and the writes of one key are applied in the order they were called. A
 * lock is a promise chain: each writer waits for the previous holder's release. Keys nobody holds or
 * waits for are not kept.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Held locks (keys with a holder or waiters), for tests. */
  get size(): number {
    return this.tails.size;
  }

  /** Waits for the locks of all `keys` (duplicates allowed); call the result to release them. */
  async acquire(keys: readonly Uint8Array[]): Promise<() => void> {
    const ids = new Set(keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1')));
    const waits: Promise<void>[] = [];
    const releases: (() => void)[] = [];
    for (const id of ids) {
      const { wait, release } = this.enqueue(id);
      if (wait !== undefined) waits.push(wait);
      releases.push(release);
    }
    await Promise.all(waits);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const r of releases) r();
    };
  }

  private enqueue(id: string): { wait: Promise<void> | undefined; release: () => void } {
    const previous = this.tails.get(id);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous === undefined ? mine : previous.then(() => mine);
    this.tails.set(id, tail);
    return {
      wait: previous,
      release: () => {
        release();
        // The last one in the chain leaves no trace; a later writer has replaced the tail otherwise.
        if (this.tails.get(id) === tail) this.tails.delete(id);
      },
    };
  }
}
