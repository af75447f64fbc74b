/**
 * Which (partition, epoch range) pairs anti-entropy must verify next, as pure bookkeeping: the driver
 * feeds it the committed epoch, the partitions this node replicates and the time, and reports each
 * range's outcome; no I/O, no clock of its own.
 *
 * verifiedThrough(p) is the epoch through which partition p was compared and repaired with every live
 * replica (0: nothing yet; the first epoch of a cluster is 1). At committed epoch E a partition with
 * verifiedThrough < E − 2 is due for [verifiedThrough + 1, E − 2]: the lag of a full epoch lets writes
 * stamped with epoch E − 1 by coordinators that have not yet seen E land before their epoch is compared
 * (ANTIENTROPY.md, "Late writes"). A range is capped at maxEpochsPerRange epochs; the rest is due next.
 *
 * A failed range stays due after a backoff doubling from retryBaseMs to retryMaxMs; a success clears it.
 * A partition the node no longer replicates forgets its marker: if it comes back, the node missed the
 * writes of the epochs in between, so everything is compared again. A record stored with an epoch that
 * was already compared (a late write), or while a range holding its epoch is being compared, sends the
 * marker back below that epoch: the replicas that verified it without the record compare it again.
 */
import { AntiEntropyArgumentError } from './service-errors.js';

/** The epochs left out at the top: E − 1 (still receiving writes) and E itself. */
export const EPOCH_LAG = 2;

export interface DueRange {
  readonly partition: number;
  /** First epoch, inclusive. */
  readonly from: number;
  /** Last epoch, inclusive. */
  readonly to: number;
}

export interface ScheduleOptions {
  /** First retry delay after a failed range, in ms (default 1,000). */
  retryBaseMs?: number;
  /** Longest retry delay, in ms (default 60,000). */
  retryMaxMs?: number;
  /** At most this many epochs per range (default 4,096; the responder refuses longer ones). */
  maxEpochsPerRange?: number;
}

interface Backoff {
  failures: number;
  retryAt: number;
}

function positiveInt(what: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new AntiEntropyArgumentError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

export class RepairSchedule {
  private readonly markers: Map<number, number>;
  private readonly backoff = new Map<number, Backoff>();
  /** The range of each partition being compared now (begin() to end()). */
  private readonly inFlight = new Map<number, DueRange>();
  /** The lowest epoch of a record stored while its partition's range, which holds that epoch, was in flight. */
  private readonly storedDuring = new Map<number, number>();
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxEpochs: number;
  private changed = false;

  constructor(markers: ReadonlyMap<number, number> = new Map(), opts: ScheduleOptions = {}) {
    this.markers = new Map(markers);
    this.retryBaseMs = positiveInt('retryBaseMs', opts.retryBaseMs ?? 1000);
    this.retryMaxMs = positiveInt('retryMaxMs', opts.retryMaxMs ?? 60_000);
    this.maxEpochs = positiveInt('maxEpochsPerRange', opts.maxEpochsPerRange ?? 4096);
  }

  verifiedThrough(partition: number): number {
    return this.markers.get(partition) ?? 0;
  }

  /**
   * The ranges due at committed `epoch` for the `replicated` partitions, most lagging first, leaving out
   * partitions in backoff at `nowMs` and those in `busy` (a range in flight). Forgets the markers of
   * partitions no longer replicated.
   */
  due(epoch: number, replicated: Iterable<number>, nowMs: number, busy: ReadonlySet<number> = new Set()): DueRange[] {
    const mine = new Set(replicated);
    for (const p of [...this.markers.keys()]) {
      if (mine.has(p)) continue;
      this.markers.delete(p);
      this.backoff.delete(p);
      this.storedDuring.delete(p);
      this.changed = true;
    }
    const top = epoch - EPOCH_LAG;
    const out: DueRange[] = [];
    for (const partition of mine) {
      const from = this.verifiedThrough(partition) + 1;
      if (from > top || busy.has(partition)) continue;
      const b = this.backoff.get(partition);
      if (b !== undefined && b.retryAt > nowMs) continue;
      out.push({ partition, from, to: Math.min(top, from + this.maxEpochs - 1) });
    }
    return out.sort((a, b) => a.from - b.from || a.partition - b.partition);
  }

  /** A job for this range starts; end() says it is over, whatever its outcome. */
  begin(range: DueRange): void {
    this.inFlight.set(range.partition, range);
    this.storedDuring.delete(range.partition);
  }

  end(partition: number): void {
    this.inFlight.delete(partition);
    this.storedDuring.delete(partition);
  }

  /**
   * A record of `epoch` was stored in `partition` (not by our own sessions: they compare what they store).
   * If that epoch was already verified, it is a late write: the marker goes back to epoch − 1, so the
   * epoch is compared again with every live replica, which gives it to those that verified it without it
   * (its coordinator's hint may be gone with a crash). If a range holding the epoch is being compared now,
   * that job may have read its tree before the record came: its success stops short of the epoch.
   * Returns whether it was a late write.
   */
  stored(partition: number, epoch: number): boolean {
    const late = epoch <= this.verifiedThrough(partition);
    if (late) {
      this.markers.set(partition, epoch - 1);
      this.changed = true;
    }
    const job = this.inFlight.get(partition);
    if (job !== undefined && epoch <= job.to) this.storedDuring.set(partition, Math.min(epoch, this.storedDuring.get(partition) ?? epoch));
    return late;
  }

  /**
   * The range was verified with every live replica: the marker advances (never backwards), but not past
   * a record stored meanwhile with an epoch of the range or below it.
   */
  succeeded(range: DueRange): void {
    this.backoff.delete(range.partition);
    const stored = this.inFlight.get(range.partition) === range ? this.storedDuring.get(range.partition) : undefined;
    const to = stored === undefined ? range.to : Math.min(range.to, stored - 1);
    if (to > this.verifiedThrough(range.partition)) {
      this.markers.set(range.partition, to);
      this.changed = true;
    }
  }

  /** The range failed with some peer: it stays due, after a doubling delay. Returns that delay. */
  failed(range: DueRange, nowMs: number): number {
    const failures = (this.backoff.get(range.partition)?.failures ?? 0) + 1;
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(failures - 1, 30));
    this.backoff.set(range.partition, { failures, retryAt: nowMs + delay });
    return delay;
  }

  /**
   * The range is not verified for a passing reason: a peer's tree moved during the walk (records of the
   * range still arriving there, often another replica's repair), or a peer could not be reached (down,
   * and soon called so by gossip, after which the range completes without it). It stays due and is tried
   * again after retryBaseMs, without the doubling of a failure.
   */
  retrySoon(range: DueRange, nowMs: number): void {
    const failures = this.backoff.get(range.partition)?.failures ?? 0;
    this.backoff.set(range.partition, { failures, retryAt: nowMs + this.retryBaseMs });
  }

  /** The markers, if they changed since the last call (the driver saves them then). */
  takeChanged(): Map<number, number> | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return new Map(this.markers);
  }

  /** A save of what takeChanged() returned failed: report the markers as changed again. */
  markUnsaved(): void {
    this.changed = true;
  }

  /** Failed sessions in a row of a partition (0 when its last range succeeded or none failed). */
  failuresOf(partition: number): number {
    return this.backoff.get(partition)?.failures ?? 0;
  }

  /** Partitions in backoff after a failure. */
  get failing(): number {
    return this.backoff.size;
  }
}
