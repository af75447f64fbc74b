/**
 * The leader's view of one follower's log (etcd's Progress, simplified).
 *
 * - `probe`: we do not know where the follower's log matches ours. Send one append at a time (`probeSent`
 *   pauses until a response or the next heartbeat response) and back `next` off on each rejection, using
 *   the follower's conflict hint to skip a whole term per round trip.
 * - `replicate`: the follower matched at `match` and keeps up. Appends are pipelined: `next` advances
 *   optimistically as each message is sent, with at most maxInflight messages unacknowledged. A rejection
 *   falls back to probe.
 * - `snapshot`: the follower needs entries we compacted; a snapshot at `pendingSnapshot` is on its way and
 *   nothing else is sent until it is acked (then replicate) or times out (then probe, which sends it again),
 *   so a slow snapshot is not resent in a loop.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  probeSent = false;
  /** Last index of each unacknowledged append in replicate state, oldest first. */
  inflight: number[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Leader ticks since appends went unacknowledged in replicate state (see stalled()). */
  stallTicks = 0;

  /** Index of the snapshot in flight (snapshot state). */
  pendingSnapshot = 0;
  /** Leader ticks since the snapshot was sent. */
  snapshotTicks = 0;
  /** A learner: replicated to, never counted for quorum. */
  learner: boolean;

  constructor(next: number, learner = false) {
    this.next = next;
    this.learner = learner;
  }

  /** May the leader send an append to this follower now? */
  canSend(maxInflight: number): boolean {
    if (this.state === 'snapshot') return false;
    return this.state === 'probe' ? !this.probeSent : this.inflight.length < maxInflight;
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.probeSent = false;
    this.inflight = [];
  }

  /** Called each leader tick: has the snapshot in flight gone unacknowledged for `limit` ticks? */
  snapshotTimedOut(limit: number): boolean {
    if (this.state !== 'snapshot' || ++this.snapshotTicks < limit) return false;
    this.becomeProbe();
    return true;
  }

  /** Records that an append ending at `last` went out. */
  sent(last: number, entries: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = last + 1;
        this.inflight.push(last);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** An ack up to `index`; returns whether `match` moved. */
  ack(index: number): boolean {
    this.stallTicks = 0;
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift();
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probeSent = false;
    return true;
  }

  /**
   * Called each leader tick. An append lost in replicate state would otherwise never be resent: later
   * appends are only sent for new entries. After `limit` ticks without an ack while appends are in
   * flight, fall back to probe, which resends from match + 1. Returns whether it fell back.
   */
  stalled(limit: number): boolean {
    if (this.state !== 'replicate' || this.inflight.length === 0) {
      this.stallTicks = 0;
      return false;
    }
    if (++this.stallTicks < limit) return false;
    this.becomeProbe();
    return true;
  }

  becomeProbe(): void {
    this.stallTicks = 0;
    this.state = 'probe';
    this.probeSent = false;
    this.inflight = [];
    this.next = this.match + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight = [];
    this.next = this.match + 1;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `hinted` is where the hint says to retry.
   * Returns false for a stale rejection (of an append sent before a later success or backoff).
   */
  reject(rejected: number, hinted: number): boolean {
    if (this.state === 'snapshot') return false;
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (rejected !== this.next - 1) {
      return false;
    }
    this.next = Math.max(this.match + 1, Math.min(rejected, hinted));
    this.probeSent = false;
    return true;
  }
}
