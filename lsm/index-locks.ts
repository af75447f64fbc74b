/**
 * Per-key locks for IndexedDB's read-before-write: a writer holds the locks of the keys it writes from
 * before it reads their old values until its batch is applied, so two writers of one key cannot both
 * read the same old value (which would leave a stale index entry behind). Writers of different keys do
 * not wait for each other and still share the engine's group commit.
 *
 * A writer queues for all its keys at once, synchronously inside acquire(), so every key's queue
 * follows one global order of writers (the order of acquire() calls): no two writers can each hold a
 * lock the other waits for, and the writes of one key are applied in the order they were called. A
 * held key has a FIFO of the writers waiting for it; a release hands the key to the first of them,
 * which proceeds once it holds all its keys. Keys nobody holds or waits for are not kept.
 *
 * Every replica write takes a lock (twice: the replica store's and this engine's), so the common case
 * (one key, nobody waiting) allocates only its key's id, one Writer and one resolved promise: a chain of
 * promises per key cost ~3 KB of garbage per replica write (allocation sampling at 800 puts/s).
 */
export class KeyLocks {
  /** Held keys by latin1 id: the writers waiting for each, in acquire() order; null while none waits. */
  private readonly queues = new Map<string, Writer[] | null>();

  /** Held locks (keys with a holder or waiters), for tests. */
  get size(): number {
    return this.queues.size;
  }

  /** Waits for the locks of all `keys` (duplicates allowed); call the result to release them. */
  acquire(keys: readonly Uint8Array[]): Promise<() => void> {
    const ids = keys.length === 1 ? [idOf(keys[0]!)] : [...new Set(keys.map(idOf))];
    const writer = new Writer(this, ids);
    for (const id of ids) {
      const queue = this.queues.get(id);
      if (queue === undefined) {
        this.queues.set(id, null);
        continue;
      }
      if (queue === null) this.queues.set(id, [writer]);
      else queue.push(writer);
      writer.waitingFor++;
    }
    if (writer.waitingFor === 0) return Promise.resolve(writer.release);
    return new Promise((resolve) => {
      writer.granted = resolve;
    });
  }

  /** @internal a Writer's release: `id`'s holder is done with it, the first waiter (if any) holds it now. */
  handOver(id: string): void {
    const queue = this.queues.get(id);
    const next = queue?.shift();
    if (next === undefined) {
      this.queues.delete(id);
      return;
    }
    if (queue!.length === 0) this.queues.set(id, null);
    if (--next.waitingFor === 0) next.granted?.(next.release);
  }
}

/** One acquire() call: the keys it queued for, and how many of them it does not hold yet. */
class Writer {
  waitingFor = 0;
  granted: ((release: () => void) => void) | undefined;
  private released = false;

  constructor(
    private readonly locks: KeyLocks,
    private readonly ids: readonly string[],
  ) {}

  /** Releases every key of this writer; later calls do nothing. */
  readonly release = (): void => {
    if (this.released) return;
    this.released = true;
    for (const id of this.ids) this.locks.handOver(id);
  };
}

function idOf(key: Uint8Array): string {
  return (Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.length)).toString('latin1');
}
