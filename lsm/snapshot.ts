/**
 * Snapshots: a sequence number that reads and iterators can be pinned to. Nothing newer than the
 * sequence is visible through it, whatever is written, flushed or compacted meanwhile. The DB keeps
 * the live ones so compaction knows the oldest version it must keep (SnapshotList.oldest).
 */
import { InvalidArgumentError } from './errors.js';

export class Snapshot {
  private released = false;

  /** @internal created by DB.snapshot() */
  constructor(
    readonly sequence: number,
    private readonly list: SnapshotList,
  ) {}

  get isReleased(): boolean {
    return this.released;
  }

  /** Lets the engine forget this view. Idempotent. Reads through a released snapshot are refused. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.list.remove(this);
  }

  /** @internal */
  belongsTo(list: SnapshotList): boolean {
    return this.list === list;
  }
}

export class SnapshotList {
  private readonly live = new Set<Snapshot>();

  create(sequence: number): Snapshot {
    const s = new Snapshot(sequence, this);
    this.live.add(s);
    return s;
  }

  remove(s: Snapshot): void {
    this.live.delete(s);
  }

  get size(): number {
    return this.live.size;
  }

  /** The smallest sequence a live snapshot reads at, or `fallback` if there is none. */
  oldest(fallback: number): number {
    let min = fallback;
    for (const s of this.live) if (s.sequence < min) min = s.sequence;
    return min;
  }

  /** The sequence to read at: the snapshot's, after checking it is live and ours. */
  sequenceOf(s: unknown): number {
    if (!(s instanceof Snapshot) || !s.belongsTo(this)) {
      throw new InvalidArgumentError('snapshot must come from this database\'s snapshot()');
    }
    if (s.isReleased) throw new InvalidArgumentError('snapshot was released');
    return s.sequence;
  }

  releaseAll(): void {
    for (const s of [...this.live]) s.release();
  }
}
