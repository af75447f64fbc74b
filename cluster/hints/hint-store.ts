/**
 * Durable hints for hinted handoff: a stand-in that took a write for a down owner keeps it here until the
 * owner is alive again and acknowledged the replay. Stored in an LSM database of our own engine; layout
 * in HINTS.md (hint-format.ts).
 *
 *   - add() is one WriteBatch written with sync: once it resolves, the hint survives a crash. The batch
 *     also carries the next sequence number, so sequence numbers never repeat across restarts.
 *   - forOwner() scans one owner's hints in insertion order; remove() deletes them once the owner acked.
 *   - The store is bounded (`maxBytes`, default 64 MiB, accounted as in HINTS.md): an add() that would
 *     exceed it first drops the OLDEST hints, of any owner, in the same batch, and says so through the
 *     logger (count, bytes, owners). Dropped hints are not lost data for good: anti-entropy repairs the
 *     owner later, hints only make that faster.
 *
 * Replaying a hint twice (a crash between the owner's ack and remove(), or a remove() that was not yet
 * synced) is harmless: a record carries its LWW timestamp, and a replica keeps the newest version, so a
 * replayed older record never overwrites a newer one. That is why remove() does not sync.
 *
 * Mutations are serialized (one at a time, in call order) so the accounting of each batch starts from
 * what the previous one left; reads (forOwner) run beside them on the engine's consistent iterators.
 */
import { DB, type FileSystem, type Logger, WriteBatch, silentLogger } from '../../lsm/index.js';
import { HintArgumentError, HintStoreClosedError, HintStoreCorruptError, HintStoreVersionError } from './hint-errors.js';
import {
  HINTS_VERSION,
  MAGIC_KEY,
  MAX_OWNER_BYTES,
  MAX_SEQ,
  ORDER_RANGE,
  SEQ_KEY,
  type OrderEntry,
  decodeHintKeySeq,
  decodeHintValue,
  decodeMagic,
  decodeOrder,
  decodeU64,
  encodeHintValue,
  encodeMagic,
  encodeOrderValue,
  encodeU64,
  hintKey,
  hintSize,
  orderKey,
  ownerRange,
} from './hint-format.js';

export { HintArgumentError, HintStoreClosedError, HintStoreCorruptError, HintStoreVersionError };

export const DEFAULT_MAX_HINT_BYTES = 64 * 1024 * 1024;

export interface HintStoreOptions {
  /** File system of the LSM database (default: the real disk; tests pass a MemFileSystem). */
  readonly fs?: FileSystem;
  /** Where dropped hints are reported (and the engine's own messages). */
  readonly logger?: Logger;
  /** Bound on the stored hints, in accounted bytes (default 64 MiB). */
  readonly maxBytes?: number;
}

export interface Hint {
  readonly owner: string;
  readonly seq: number;
  readonly key: Buffer;
  readonly record: Buffer;
}

export interface HintStats {
  readonly pendingHints: number;
  readonly pendingBytes: number;
  /** Hints dropped to stay under the bound since this store was opened. */
  readonly dropped: number;
  readonly maxBytes: number;
}

interface OwnerTotals {
  hints: number;
  bytes: number;
}

function ownerBytes(owner: string): Buffer {
  if (typeof owner !== 'string' || owner === '') throw new HintArgumentError('hint owner must be a non-empty string');
  const b = Buffer.from(owner, 'utf8');
  if (b.length > MAX_OWNER_BYTES) throw new HintArgumentError(`hint owner is ${b.length} bytes, at most ${MAX_OWNER_BYTES}`);
  return b;
}

export class HintStore {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private dropped = 0;

  private constructor(
    private readonly dir: string,
    private readonly db: DB,
    private readonly logger: Logger,
    readonly maxBytes: number,
    private nextSeq: number,
    private pendingBytes: number,
    private readonly owners: Map<string, OwnerTotals>,
  ) {}

  static async open(dir: string, options: HintStoreOptions = {}): Promise<HintStore> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_HINT_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new HintArgumentError(`maxBytes must be a positive integer, got ${String(maxBytes)}`);
    const logger = options.logger ?? silentLogger;
    // Flushes and compactions in this thread: hints are few and short-lived, not worth a worker thread
    // of their own (lsm/THREADS.md); the replica store has one.
    const db = await DB.open(dir, { fs: options.fs, logger, backgroundThread: false });
    try {
      const { nextSeq, bytes, owners } = await recover(dir, db);
      return new HintStore(dir, db, logger, maxBytes, nextSeq, bytes, owners);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Stores a hint durably; resolves with its sequence number once it is synced. */
  async add(owner: string, key: Uint8Array, record: Uint8Array): Promise<number> {
    const o = ownerBytes(owner);
    if (!(key instanceof Uint8Array) || !(record instanceof Uint8Array)) throw new HintArgumentError('hint key and record must be bytes');
    const size = hintSize(o.length, key.length, record.length);
    if (size > this.maxBytes) throw new HintArgumentError(`a hint of ${size} bytes does not fit the store's bound of ${this.maxBytes}`);
    return this.serialize(async () => {
      const seq = this.nextSeq;
      if (seq >= MAX_SEQ) throw new HintStoreCorruptError(this.dir, 'sequence numbers exhausted');
      const batch = new WriteBatch();
      const victims = await this.oldestToDrop(this.pendingBytes + size - this.maxBytes);
      for (const v of victims) batch.del(hintKey(ownerBytes(v.owner), v.seq)).del(orderKey(v.seq));
      batch.put(hintKey(o, seq), encodeHintValue(key, record));
      batch.put(orderKey(seq), encodeOrderValue(o, size));
      batch.put(SEQ_KEY, encodeU64(seq + 1));
      await this.db.write(batch, { sync: true });
      this.nextSeq = seq + 1;
      for (const v of victims) this.account(v.owner, -1, -v.size);
      this.account(owner, 1, size);
      if (victims.length > 0) this.reportDropped(victims);
      return seq;
    });
  }

  /** One owner's hints, oldest first, at most `limit` of them. */
  async *forOwner(owner: string, limit = Infinity): AsyncGenerator<Hint> {
    this.checkOpen();
    const o = ownerBytes(owner);
    for await (const [k, v] of this.db.iterator({ ...ownerRange(o), limit })) {
      const seq = decodeHintKeySeq(this.dir, o, k);
      const { key, record } = decodeHintValue(this.dir, v);
      yield { owner, seq, key, record };
    }
  }

  /** Deletes hints of `owner` the owner acknowledged; unknown or already dropped ones are skipped. Resolves with the count removed. */
  async remove(owner: string, ...seqs: number[]): Promise<number> {
    const o = ownerBytes(owner);
    return this.serialize(async () => {
      const batch = new WriteBatch();
      const removed: OrderEntry[] = [];
      for (const seq of new Set(seqs)) {
        if (!Number.isSafeInteger(seq) || seq < 0) throw new HintArgumentError(`bad hint sequence number ${String(seq)}`);
        const v = await this.db.get(orderKey(seq));
        if (v === undefined) continue;
        const entry = decodeOrder(this.dir, orderKey(seq), v);
        if (entry.owner !== owner) continue;
        batch.del(hintKey(o, seq)).del(orderKey(seq));
        removed.push(entry);
      }
      if (removed.length === 0) return 0;
      await this.db.write(batch);
      for (const e of removed) this.account(owner, -1, -e.size);
      return removed.length;
    });
  }

  /** Owners with pending hints, sorted. */
  pendingOwners(): string[] {
    return [...this.owners.keys()].sort();
  }

  pendingFor(owner: string): number {
    return this.owners.get(owner)?.hints ?? 0;
  }

  stats(): HintStats {
    let pendingHints = 0;
    for (const t of this.owners.values()) pendingHints += t.hints;
    return { pendingHints, pendingBytes: this.pendingBytes, dropped: this.dropped, maxBytes: this.maxBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new HintStoreClosedError();
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    this.checkOpen();
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The oldest hints whose sizes add up to at least `excess` bytes (none if excess ≤ 0). */
  private async oldestToDrop(excess: number): Promise<OrderEntry[]> {
    const victims: OrderEntry[] = [];
    if (excess <= 0) return victims;
    let freed = 0;
    for await (const [k, v] of this.db.iterator(ORDER_RANGE)) {
      const entry = decodeOrder(this.dir, k, v);
      victims.push(entry);
      freed += entry.size;
      if (freed >= excess) break;
    }
    return victims;
  }

  private account(owner: string, hints: number, bytes: number): void {
    const t = this.owners.get(owner) ?? { hints: 0, bytes: 0 };
    t.hints += hints;
    t.bytes += bytes;
    this.pendingBytes += bytes;
    if (t.hints === 0) this.owners.delete(owner);
    else this.owners.set(owner, t);
  }

  private reportDropped(victims: readonly OrderEntry[]): void {
    this.dropped += victims.length;
    const byOwner: Record<string, number> = {};
    let bytes = 0;
    for (const v of victims) {
      byOwner[v.owner] = (byOwner[v.owner] ?? 0) + 1;
      bytes += v.size;
    }
    this.logger.warn(`hint store full (${this.maxBytes} bytes): dropped the ${victims.length} oldest hints`, {
      dropped: victims.length,
      bytes,
      owners: byOwner,
      oldestSeq: victims[0]?.seq,
    });
  }
}

/** Reads the magic record, the sequence counter and the totals per owner (from the order entries). */
async function recover(dir: string, db: DB): Promise<{ nextSeq: number; bytes: number; owners: Map<string, OwnerTotals> }> {
  const magic = await db.get(MAGIC_KEY);
  if (magic === undefined) {
    for await (const [k] of db.iterator({ limit: 1 })) throw new HintStoreCorruptError(dir, `no magic record but a key ${k.toString('hex')}`);
    const batch = new WriteBatch().put(MAGIC_KEY, encodeMagic()).put(SEQ_KEY, encodeU64(0));
    await db.write(batch, { sync: true });
    return { nextSeq: 0, bytes: 0, owners: new Map() };
  }
  const version = decodeMagic(dir, magic);
  if (version !== HINTS_VERSION) throw new HintStoreVersionError(dir, version, HINTS_VERSION);
  const seqValue = await db.get(SEQ_KEY);
  if (seqValue === undefined || seqValue.length !== 8) throw new HintStoreCorruptError(dir, 'missing or malformed sequence counter');
  const nextSeq = decodeU64(dir, 'sequence counter', seqValue);
  const owners = new Map<string, OwnerTotals>();
  let bytes = 0;
  for await (const [k, v] of db.iterator(ORDER_RANGE)) {
    const e = decodeOrder(dir, k, v);
    if (e.seq >= nextSeq) throw new HintStoreCorruptError(dir, `hint ${e.seq} at or beyond the sequence counter ${nextSeq}`);
    const t = owners.get(e.owner) ?? { hints: 0, bytes: 0 };
    t.hints++;
    t.bytes += e.size;
    owners.set(e.owner, t);
    bytes += e.size;
  }
  return { nextSeq, bytes, owners };
}
