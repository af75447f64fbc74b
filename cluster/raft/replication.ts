/**
 * Replication: the leader's side of log replication, used by raft.ts while it leads. One Progress per
 * member (voters and learners; see progress.ts for the probe/replicate/snapshot states), appends with
 * pipelining, InstallSnapshot for followers that need compacted entries, heartbeats, and which index a
 * majority of the voters holds. The Raft class decides what to do with that (commit, step down, transfer).
 */
import type { Configuration } from './conf.js';
import type { RaftLog } from './log.js';
import { Progress } from './progress.js';
import type { RaftConfig, RaftMessage, Snapshot } from './types.js';

export type Payload<T extends RaftMessage['type']> = Omit<Extract<RaftMessage, { type: T }>, 'type' | 'from' | 'to' | 'term'>;

/** What replication needs of the node it runs in. */
export interface ReplicationHost {
  readonly id: string;
  readonly config: RaftConfig;
  readonly log: RaftLog;
  term(): number;
  /** The latest snapshot, for followers that need compacted entries. */
  latestSnapshot(): Snapshot | undefined;
  send<T extends RaftMessage['type']>(to: string, type: T, payload: Payload<T>): void;
}

export class Replication {
  readonly progress = new Map<string, Progress>();

  constructor(
    private readonly host: ReplicationHost,
    private readonly conf: Configuration,
  ) {}

  /** A new leader knows nothing of its followers' logs: probe everyone from our last index + 1. */
  reset(): void {
    this.progress.clear();
    for (const p of this.conf.members()) this.progress.set(p, new Progress(this.host.log.lastIndex() + 1, !this.conf.isVoter(p)));
    this.progress.get(this.host.id)?.becomeReplicate();
  }

  /** The configuration changed: track new members, forget removed ones (with a last heartbeat each). */
  syncMembers(): void {
    const { log, id } = this.host;
    for (const [p, pr] of this.progress) {
      if (this.conf.isMember(p)) continue;
      // One last heartbeat so it learns (once it holds the entry) that its removal committed.
      if (p !== id) this.host.send(p, 'heartbeat', { commit: Math.min(pr.match, log.committed) });
      this.progress.delete(p);
    }
    for (const p of this.conf.members()) {
      const pr = this.progress.get(p);
      if (pr === undefined) this.progress.set(p, new Progress(log.lastIndex() + 1, !this.conf.isVoter(p)));
      else pr.learner = !this.conf.isVoter(p);
    }
  }

  /** The highest index a majority of voters holds, if its entry is of our term (§5.4.2); else 0. */
  commitCandidate(): number {
    const matches = this.conf.voters().map((p) => this.progress.get(p)?.match ?? 0).sort((a, b) => b - a);
    const n = matches[this.conf.quorum() - 1] ?? 0;
    return n > this.host.log.committed && this.host.log.term(n) === this.host.term() ? n : 0;
  }

  /** Each leader tick: resend what a stalled pipeline or a lost snapshot left hanging. */
  tick(): void {
    const { config } = this.host;
    for (const [p, pr] of this.progress) {
      if (p === this.host.id) continue;
      if (pr.stalled(Math.max(2, config.electionTicks >> 1)) || pr.snapshotTimedOut(config.electionTicks)) this.sendAppend(p);
    }
  }

  /** Check-quorum: how many voters (us included) were heard from since the last call. */
  takeActiveVoters(): number {
    const active = this.conf.voters().filter((p) => p === this.host.id || this.progress.get(p)?.recentActive === true).length;
    for (const pr of this.progress.values()) pr.recentActive = false;
    return active;
  }

  heartbeat(): void {
    for (const [p, pr] of this.progress) {
      if (p !== this.host.id) this.host.send(p, 'heartbeat', { commit: Math.min(pr.match, this.host.log.committed) });
    }
  }

  broadcastAppend(): void {
    for (const p of this.progress.keys()) if (p !== this.host.id) this.sendAppend(p, true);
  }

  /**
   * A follower's answer: 'moved' when an ack raised its match index (the caller may then commit), 'ack'
   * for an ack that did not, 'other' for the rest. Sends what a heartbeat answer or a rejection calls
   * for; after an ack the caller sends more with sendMore().
   */
  onResponse(m: Extract<RaftMessage, { type: 'app-resp' | 'heartbeat-resp' }>): 'moved' | 'ack' | 'other' {
    const { log, config } = this.host;
    const pr = this.progress.get(m.from);
    if (pr === undefined) return 'other';
    pr.recentActive = true;
    if (m.type === 'heartbeat-resp') {
      pr.probeSent = false;
      if (pr.state === 'replicate' && pr.inflight.length >= config.maxInflight) pr.inflight.shift();
      if (pr.match < log.lastIndex()) this.sendAppend(m.from);
      return 'other';
    }
    if (m.reject) {
      // The leader's own term at the hinted term tells it how far back to go: just past its last entry of
      // that term if it has one (we agree up to there at best), else to the follower's first index of it.
      const ours = m.hintTerm === 0 ? undefined : log.lastIndexOfTerm(m.hintTerm);
      const hinted = ours !== undefined ? ours + 1 : m.hintIndex;
      if (pr.reject(m.index, hinted)) this.sendAppend(m.from);
      return 'other';
    }
    const moved = pr.ack(m.index);
    if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
    else if (moved && pr.state === 'probe') pr.becomeReplicate();
    return moved ? 'moved' : 'ack';
  }

  /** Fills the follower's pipeline after an ack. */
  sendMore(to: string): void {
    const pr = this.progress.get(to);
    const last = this.host.log.lastIndex();
    while (pr !== undefined && pr.match < last && pr.canSend(this.host.config.maxInflight) && pr.next <= last) {
      if (!this.sendAppend(to)) break;
    }
  }

  /** Sends the next append to `to` if its progress allows; `force` sends even an empty one (commit news). */
  sendAppend(to: string, force = false): boolean {
    const { log, config } = this.host;
    const pr = this.progress.get(to);
    if (pr === undefined || !pr.canSend(config.maxInflight)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const entries = log.slice(pr.next, log.lastIndex(), config.maxEntriesPerMessage);
    if (entries.length === 0 && !force && pr.state === 'replicate') return false;
    this.host.send(to, 'app', { prevIndex, prevTerm, entries, commit: log.committed });
    pr.sent(prevIndex + entries.length, entries.length);
    return true;
  }

  /** The follower needs entries we compacted: send our snapshot and wait for its ack (or a timeout). */
  private sendSnapshot(to: string, pr: Progress): boolean {
    const snap = this.host.latestSnapshot();
    if (snap === undefined) return false; // unreachable: a compacted log always has its snapshot
    this.host.send(to, 'snap', { snapshot: snap });
    pr.becomeSnapshot(snap.index);
    return true;
  }
}
