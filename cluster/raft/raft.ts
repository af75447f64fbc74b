/**
 * Raft: the consensus algorithm of one node as a pure state machine, in the shape of etcd-io/raft. Inputs
 * are `tick()`, `step(message)`, `propose(data)`, `proposeConfChange(cc)`, `campaign()`, `compact()` and
 * `transferLeadership()`; outputs are collected with `ready()` and acknowledged with `advance()`. No I/O,
 * no clock, no randomness of its own: the election jitter comes from the injected Random, so a seed
 * replays a simulated cluster exactly.
 *
 * Protocol notes (Raft paper and Ongaro's thesis):
 * - Terms: any message with a higher term makes us a follower of that term, except (pre-)vote requests
 *   inside a leader lease and pre-vote traffic, which never changes terms (see step()).
 * - Pre-vote (§9.6): on election timeout a node first asks whether it *could* win at term+1; only with a
 *   majority of grants does it raise its term and run a real election. A partitioned node that rejoins so
 *   cannot depose a healthy leader by inflating its term.
 * - Check-quorum (§6.2): a leader that has not heard from a majority within an election timeout steps
 *   down; followers that heard from a leader within the timeout ignore vote requests (leader lease).
 * - Commit (§5.4.2): the leader commits only entries of its own term by counting replicas; earlier
 *   entries commit with them. A new leader appends an empty entry so that happens promptly.
 * - Durability: hard state, entries and a received snapshot of a Ready are persisted before its messages
 *   are sent, so a vote or an ack is never sent for state a crash could lose.
 *
 * Membership (one server at a time, thesis §4.1), see conf.ts:
 * - A conf change takes effect on a node when the node learns the entry is COMMITTED (as etcd does, not
 *   on append as the thesis does). Why: a committed entry is never truncated, so a new leader that
 *   overwrites an uncommitted conf entry needs no rollback, and the configuration after a restart is just
 *   snapshot.conf (or the initial one) plus the committed conf entries of the persisted log. It stays safe
 *   because a leader proposes a change only once the previous one is committed and applied and once it
 *   committed an entry of its own term (Ongaro's 2015 fix): two configurations in force at once never
 *   differ by more than one voter, so their majorities overlap.
 * - Learners get the log and snapshots but never count for commit, elections or check-quorum. A node
 *   answers vote requests even when it thinks it is not a voter (it may be one in the candidate's newer
 *   configuration, as in etcd); the candidate counts only the votes of its own voters. A node that is not
 *   a voter in its configuration never campaigns, so a joining node with an empty one just waits.
 * - A leader whose removal commits tells the others, then steps down.
 * Snapshots: compact() drops the applied prefix; a follower that needs compacted entries gets the snapshot
 * ('snap', InstallSnapshot), tracked by the 'snapshot' progress state so it is sent once per timeout.
 * Leadership transfer (§3.10): see transfer in tick() and handleLeaderResponse().
 */
import { confChangeProblem, encodeConfChange } from './conf-change.js';
import type { Configuration } from './conf.js';
import type { RaftLog } from './log.js';
import { recover } from './recovery.js';
import { grantsVote, Poll, voteRequests } from './election.js';
import type { Progress } from './progress.js';
import { Replication, type Payload } from './replication.js';
import {
  BadCompactionError,
  BadConfChangeError,
  BadTransferError,
  ConfChangePendingError,
  DEFAULT_CONFIG,
  NotLeaderError,
  TransferringError,
  type ConfChange,
  type ConfState,
  type HardState,
  type PersistedState,
  type RaftConfig,
  type RaftMessage,
  type RaftStatus,
  type Random,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
} from './types.js';

export interface RaftOptions {
  readonly id: string;
  readonly rng: Random;
  readonly config?: Partial<RaftConfig>;
  /** What the node persisted before a restart; omitted for a fresh node. */
  readonly persisted?: PersistedState;
  /**
   * Configuration of a brand-new node: a bootstrap node passes { voters: [itself], learners: [] }; a node
   * that will be added to an existing cluster passes { voters: [], learners: [] } and just waits for the
   * leader's appends/snapshot. Ignored when `persisted` has a snapshot or entries. A bootstrap writes the
   * configuration as committed conf entries 1..n of term 1 (as etcd does), so every node learns it from
   * the log: bootstrap nodes must pass the same configuration, in the same order.
   */
  readonly conf?: ConfState;
  /** Kept for the existing tests: shorthand for conf = { voters: peers, learners: [] }, kept outside the log. */
  readonly peers?: readonly string[];
}

const EMPTY = new Uint8Array(0);

export class Raft {
  readonly id: string;
  readonly config: RaftConfig;
  readonly log: RaftLog;
  private readonly conf: Configuration;
  private readonly rng: Random;
  private _term = 0;
  private _vote = '';
  private _role: Role = 'follower';
  private _leader = '';
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private poll: Poll;
  private readonly replication: Replication;
  private msgs: RaftMessage[] = [];
  private prevHard: HardState;
  private prevSoft: SoftState;
  /** The latest snapshot (compacted here, received, or restarted from): what a lagging follower gets. */
  private snapshot: Snapshot | undefined;
  /** A snapshot received from the leader, not yet handed out in a Ready. */
  private unstableSnapshot: Snapshot | undefined;
  /** Leader: index of the last conf entry it proposed (or its first no-op); no new change until applied. */
  private pendingConfIndex = 0;
  /** Leader: the voter leadership is being handed to, or ''. */
  private transferee = '';
  private transferElapsed = 0;
  private timeoutNowSent = false;

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    if (this.config.heartbeatTicks >= this.config.electionTicks) throw new Error('raft: heartbeatTicks must be below electionTicks');
    this.rng = options.rng;
    const r = recover(this.id, options.persisted, options.conf, options.peers);
    this.log = r.log;
    this.conf = r.conf;
    this._term = r.term;
    this._vote = r.vote;
    this.snapshot = r.snapshot;
    this.replication = new Replication(
      {
        id: this.id,
        config: this.config,
        log: this.log,
        term: () => this._term,
        latestSnapshot: () => this.snapshot,
        send: (to, type, payload) => this.send(to, type, payload),
      },
      this.conf,
    );
    this.poll = new Poll(this.conf, this.id);
    this.prevHard = r.stored;
    this.resetTimers();
    this.prevSoft = this.softState();
  }

  get term(): number {
    return this._term;
  }
  get vote(): string {
    return this._vote;
  }
  get role(): Role {
    return this._role;
  }
  get leader(): string {
    return this._leader;
  }

  hardState(): HardState {
    return { term: this._term, vote: this._vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this._leader, role: this._role };
  }

  /** The configuration in force (that of the committed log). */
  confState(): ConfState {
    return this.conf.state;
  }

  /** The leader's view of a follower's replication, for tests and status. */
  progressOf(peer: string): Readonly<Progress> | undefined {
    return this.replication.progress.get(peer);
  }

  status(): RaftStatus {
    const progress: Record<string, { match: number; next: number; learner: boolean }> = {};
    if (this._role === 'leader') {
      for (const [id, pr] of this.replication.progress) progress[id] = { match: pr.match, next: pr.next, learner: pr.learner };
    }
    return {
      id: this.id,
      term: this._term,
      vote: this._vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotIndex,
      role: this._role,
      leader: this._leader,
      conf: this.conf.state,
      progress,
    };
  }

  // ---- inputs ------------------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this._role !== 'leader') {
      // A non-voter lets the timer run on: it never campaigns, but its leader lease must still expire, or
      // it would refuse the votes a voter it does not yet know about needs (it may be one itself).
      if (++this.electionElapsed >= this.randomizedTimeout && this.conf.isVoter(this.id)) this.campaign();
      return;
    }
    this.electionElapsed++;
    this.replication.tick();
    if (this.transferee !== '' && ++this.transferElapsed >= this.config.electionTicks) this.transferee = ''; // aborted
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (this.replication.takeActiveVoters() < this.conf.quorum()) {
          this.becomeFollower(this._term, '');
          return;
        }
      }
    }
    if (++this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.replication.heartbeat();
    }
  }

  /** Starts an election now (pre-vote first if enabled), as an election timeout would. Only voters campaign. */
  campaign(): void {
    if (this._role === 'leader' || !this.conf.isVoter(this.id)) return;
    if (this.config.preVote) this.becomePreCandidate();
    else this.becomeCandidate(false);
  }

  /**
   * Appends `data` to the log if this node is the leader; returns the new entry's index and term (it is
   * committed once it shows up in a Ready's committedEntries with that term). Throws NotLeaderError
   * otherwise, TransferringError while leadership is being handed over.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    this.checkProposable();
    return this.appendOwn(data, 'normal');
  }

  /** Proposes a one-server configuration change; see the errors in the file header and types.ts. */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.checkProposable();
    if (this.log.term(this.log.committed) !== this._term) {
      throw new ConfChangePendingError(`leader of term ${this._term} has not committed an entry of its term yet`);
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new ConfChangePendingError(`conf change at ${this.pendingConfIndex} not yet applied (applied ${this.log.applied})`);
    }
    const problem = confChangeProblem(this.conf.state, cc);
    if (problem !== undefined) throw new BadConfChangeError(problem);
    const r = this.appendOwn(encodeConfChange(cc), 'conf');
    this.pendingConfIndex = r.index;
    return r;
  }

  /**
   * The application applied everything through `index` and serialized its state as `data`: drop the log
   * up to there. Returns the snapshot for the driver to persist (dropping its stored entries ≤ index).
   */
  compact(index: number, data: Uint8Array): Snapshot {
    if (index <= this.log.snapshotIndex || index > this.log.applied) {
      throw new BadCompactionError(`cannot compact to ${index}: snapshot at ${this.log.snapshotIndex}, applied ${this.log.applied}`);
    }
    const snap: Snapshot = { index, term: this.log.term(index)!, conf: this.conf.at(this.log, index), data };
    this.log.compact(index);
    this.conf.compacted(snap.conf, index);
    this.snapshot = snap;
    return snap;
  }

  /** Hands leadership to voter `to`: catches it up, then tells it to campaign; aborts after an election timeout. */
  transferLeadership(to: string): void {
    if (this._role !== 'leader') throw new NotLeaderError(this._leader);
    if (to === this.id || !this.conf.isVoter(to)) throw new BadTransferError(`${to} is not another voter`);
    if (this.transferee === to) return;
    this.transferee = to;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
    this.maybeSendTimeoutNow();
    const pr = this.replication.progress.get(to);
    if (this.timeoutNowSent || pr === undefined) return;
    // Catch it up now, from what it acknowledged: appends in flight may be lost.
    if (pr.state === 'replicate') pr.becomeProbe();
    this.replication.sendAppend(to);
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id) return;
    if (m.term > this._term) {
      if ((m.type === 'pre-vote' || (m.type === 'vote' && m.transfer !== true)) && this.inLease()) return;
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-resp' && !m.reject)) {
        // Pre-vote traffic carries the proposed term; it changes nobody's term.
      } else {
        const fromLeader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
        this.becomeFollower(m.term, fromLeader ? m.from : '');
      }
    } else if (m.term < this._term) {
      if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        // A deposed leader (e.g. after a partition) learns our term from this and steps down.
        this.send(m.from, 'app-resp', { index: 0, reject: false, hintTerm: 0, hintIndex: 0 });
      } else if (m.type === 'pre-vote') {
        this.send(m.from, 'pre-vote-resp', { reject: true });
      }
      return;
    }
    switch (m.type) {
      case 'pre-vote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
      case 'pre-vote-resp':
      case 'vote-resp':
        this.handleVoteResponse(m);
        return;
      case 'app':
      case 'heartbeat':
      case 'snap':
        if (this._role === 'leader') return; // impossible: one leader per term
        if (this._role !== 'follower') this.becomeFollower(this._term, m.from);
        this._leader = m.from;
        this.electionElapsed = 0;
        if (m.type === 'app') this.handleAppend(m);
        else if (m.type === 'snap') this.handleSnapshot(m);
        else {
          this.commitTo(Math.min(m.commit, this.log.lastIndex()));
          this.send(m.from, 'heartbeat-resp', {});
        }
        return;
      case 'app-resp':
      case 'heartbeat-resp':
        if (this._role === 'leader') this.handleLeaderResponse(m);
        return;
      case 'timeout-now':
        // Leadership transfer: campaign at once, without pre-vote, flagged so voters ignore their lease.
        if (this._role === 'follower' && this.conf.isVoter(this.id)) this.becomeCandidate(true);
        return;
    }
  }

  // ---- outputs -----------------------------------------------------------------------------------

  hasReady(): boolean {
    const hs = this.hardState();
    return (
      this.msgs.length > 0 ||
      this.unstableSnapshot !== undefined ||
      this.log.stable < this.log.lastIndex() ||
      this.log.applied < this.log.committed ||
      !sameHard(hs, this.prevHard) ||
      this.prevSoft.leader !== this._leader ||
      this.prevSoft.role !== this._role
    );
  }

  /** Collects this round's outputs; the messages are handed out once. Call advance(ready) when done. */
  ready(): Ready {
    const hs = this.hardState();
    const ss = this.softState();
    const msgs = this.msgs;
    this.msgs = [];
    return {
      hardState: sameHard(hs, this.prevHard) ? undefined : hs,
      softState: ss.leader === this.prevSoft.leader && ss.role === this.prevSoft.role ? undefined : ss,
      snapshot: this.unstableSnapshot,
      entries: this.log.unstableEntries(),
      messages: msgs,
      committedEntries: this.log.nextCommitted(),
    };
  }

  /** The driver persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
    if (rd.snapshot !== undefined && rd.snapshot === this.unstableSnapshot) this.unstableSnapshot = undefined;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied !== undefined) this.log.appliedTo(applied.index);
  }

  // ---- roles -------------------------------------------------------------------------------------

  private becomeFollower(term: number, leader: string): void {
    if (term > this._term) {
      this._term = term;
      this._vote = '';
    }
    this._role = 'follower';
    this._leader = leader;
    this.transferee = '';
    this.resetTimers();
  }

  private becomePreCandidate(): void {
    // The term and vote stay as they are: this round only asks whether we could win at term + 1.
    this._role = 'pre-candidate';
    this._leader = '';
    this.resetTimers();
    this.startPoll('pre-vote', this._term + 1, false);
  }

  private becomeCandidate(transfer: boolean): void {
    this._term++;
    this._vote = this.id;
    this._role = 'candidate';
    this._leader = '';
    this.resetTimers();
    this.startPoll('vote', this._term, transfer);
  }

  private becomeLeader(): void {
    this._role = 'leader';
    this._leader = this.id;
    this.transferee = '';
    this.resetTimers();
    this.replication.reset();
    // No conf change until the entries of earlier terms (which may hold one) are committed and applied.
    this.pendingConfIndex = this.appendOwn(EMPTY, 'normal').index;
  }

  private startPoll(type: 'pre-vote' | 'vote', term: number, transfer: boolean): void {
    this.poll = new Poll(this.conf, this.id);
    if (this.poll.result() === 'won') this.winPoll();
    else this.msgs.push(...voteRequests(type, this.id, term, this.log, this.conf, transfer));
  }

  private winPoll(): void {
    if (this._role === 'pre-candidate') this.becomeCandidate(false);
    else this.becomeLeader();
  }

  // ---- handlers ----------------------------------------------------------------------------------

  private handleVoteRequest(m: Extract<RaftMessage, { type: 'vote' | 'pre-vote' }>): void {
    const pre = m.type === 'pre-vote';
    const type = pre ? 'pre-vote-resp' : 'vote-resp';
    if (grantsVote(m, { term: this._term, vote: this._vote, leader: this._leader }, this.log)) {
      if (!pre) {
        this._vote = m.from;
        this.electionElapsed = 0;
      }
      // A granted pre-vote answers with the proposed term; a rejection with ours, so the sender catches up.
      this.msgs.push({ type, from: this.id, to: m.from, term: m.term, reject: false });
    } else {
      this.send(m.from, type, { reject: true });
    }
  }

  private handleVoteResponse(m: Extract<RaftMessage, { type: 'vote-resp' | 'pre-vote-resp' }>): void {
    const want = this._role === 'pre-candidate' ? 'pre-vote-resp' : this._role === 'candidate' ? 'vote-resp' : undefined;
    if (m.type !== want) return;
    if (m.type === 'pre-vote-resp' && !m.reject && m.term !== this._term + 1) return; // from an older round
    this.poll.record(m.from, !m.reject);
    const r = this.poll.result();
    if (r === 'won') this.winPoll();
    else if (r === 'lost') this.becomeFollower(this._term, '');
  }

  private handleAppend(m: Extract<RaftMessage, { type: 'app' }>): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index is settled; tell the leader where we are.
      this.send(m.from, 'app-resp', { index: this.log.committed, reject: false, hintTerm: 0, hintIndex: 0 });
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = this.log.appendFromLeader(m.prevIndex, m.entries);
      this.commitTo(Math.min(m.commit, lastNew));
      this.send(m.from, 'app-resp', { index: lastNew, reject: false, hintTerm: 0, hintIndex: 0 });
      return;
    }
    // Conflict hint (thesis §5.3 optimisation): the term we hold at prevIndex and the first index of that
    // term in our log, so the leader skips the whole term; with a short log, our last index + 1.
    const t = this.log.term(m.prevIndex);
    const hint =
      t === undefined
        ? { hintTerm: 0, hintIndex: this.log.lastIndex() + 1 }
        : { hintTerm: t, hintIndex: this.log.firstIndexOfTerm(m.prevIndex) };
    this.send(m.from, 'app-resp', { index: m.prevIndex, reject: true, ...hint });
  }

  /** InstallSnapshot: a snapshot ahead of our commit replaces our log (see RaftLog.restore); ack its index. */
  private handleSnapshot(m: Extract<RaftMessage, { type: 'snap' }>): void {
    const s = m.snapshot;
    if (s.index <= this.log.committed) {
      this.send(m.from, 'app-resp', { index: this.log.committed, reject: false, hintTerm: 0, hintIndex: 0 });
      return;
    }
    this.log.restore(s.index, s.term);
    this.conf.restore(s.conf, s.index);
    this.snapshot = s;
    this.unstableSnapshot = s;
    this.send(m.from, 'app-resp', { index: s.index, reject: false, hintTerm: 0, hintIndex: 0 });
  }

  private handleLeaderResponse(m: Extract<RaftMessage, { type: 'app-resp' | 'heartbeat-resp' }>): void {
    const r = this.replication.onResponse(m);
    if (r === 'other') return;
    if (r === 'moved') {
      const n = this.replication.commitCandidate();
      if (n > 0) {
        this.commitTo(n);
        this.afterCommit();
        if (this._role !== 'leader') return;
      }
      if (m.from === this.transferee) this.maybeSendTimeoutNow();
    }
    this.replication.sendMore(m.from);
  }

  // ---- replication -------------------------------------------------------------------------------

  private checkProposable(): void {
    if (this._role !== 'leader') throw new NotLeaderError(this._leader);
    if (this.transferee !== '') throw new TransferringError(this.transferee);
  }

  private appendOwn(data: Uint8Array, type: 'normal' | 'conf'): { index: number; term: number } {
    const e = this.log.append(this._term, data, type);
    this.replication.progress.get(this.id)?.ack(e.index);
    const n = this.replication.commitCandidate();
    if (n > 0) {
      this.commitTo(n);
      this.afterCommit();
    } else {
      this.replication.broadcastAppend();
    }
    return { index: e.index, term: e.term };
  }

  /** The leader's commit moved: tell everyone; a leader whose own removal just committed then steps down. */
  private afterCommit(): void {
    this.replication.broadcastAppend();
    if (!this.conf.isVoter(this.id)) this.becomeFollower(this._term, '');
  }

  /** Moves the commit index, putting committed conf entries into force. */
  private commitTo(index: number): void {
    if (index <= this.log.committed) return;
    this.log.commitTo(index);
    if (!this.conf.catchUp(this.log, index) || this._role !== 'leader') return;
    this.replication.syncMembers();
    if (this.transferee !== '' && !this.conf.isVoter(this.transferee)) this.transferee = '';
    // A smaller voter set may already hold later entries on a majority (e.g. a removed voter's ack was
    // the one missing): commit them now, nothing else would trigger it.
    const n = this.replication.commitCandidate();
    if (n > 0) this.commitTo(n);
  }

  private maybeSendTimeoutNow(): void {
    const pr = this.replication.progress.get(this.transferee);
    if (this.timeoutNowSent || pr === undefined || pr.match !== this.log.lastIndex()) return;
    this.send(this.transferee, 'timeout-now', {});
    this.timeoutNowSent = true;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private send<T extends RaftMessage['type']>(to: string, type: T, payload: Payload<T>): void {
    this.msgs.push({ ...payload, type, from: this.id, to, term: this._term } as unknown as RaftMessage);
  }

  /** Leader lease: we heard from a live leader less than an election timeout ago. */
  private inLease(): boolean {
    return this.config.checkQuorum && this._leader !== '' && this.electionElapsed < this.config.electionTicks;
  }

  private resetTimers(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const e = this.config.electionTicks;
    this.randomizedTimeout = e + Math.floor(this.rng.next() * e);
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
