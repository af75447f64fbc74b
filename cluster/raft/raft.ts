/**
 * Raft: the consensus algorithm of one node as a pure state machine, in the shape of etcd-io/raft. Inputs
 * are `tick()`, `step(message)`, `propose(data)` and `campaign()`; outputs are collected with `ready()` and
 * acknowledged with `advance()`. No I/O, no clock, no randomness of its own: the election jitter comes from
 * the injected Random, so a seed replays a simulated cluster exactly.
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
 * - Durability: hard state and entries of a Ready are persisted before its messages are sent, so a vote
 *   or an ack is never sent for state a crash could lose.
 */
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import {
  DEFAULT_CONFIG,
  NotLeaderError,
  type HardState,
  type RaftConfig,
  type RaftMessage,
  type Random,
  type Ready,
  type Role,
  type SoftState,
  type PersistedState,
} from './types.js';

export interface RaftOptions {
  readonly id: string;
  /** All voters, this node included. */
  readonly peers: readonly string[];
  readonly rng: Random;
  readonly config?: Partial<RaftConfig>;
  /** What the node persisted before a restart; omitted for a fresh node. */
  readonly persisted?: PersistedState;
}

type Payload<T extends RaftMessage['type']> = Omit<Extract<RaftMessage, { type: T }>, 'type' | 'from' | 'to' | 'term'>;

const EMPTY = new Uint8Array(0);

export class Raft {
  readonly id: string;
  readonly config: RaftConfig;
  readonly log: RaftLog;
  private readonly peers: readonly string[];
  private readonly rng: Random;
  private _term = 0;
  private _vote = '';
  private _role: Role = 'follower';
  private _leader = '';
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private votes = new Map<string, boolean>();
  private progress = new Map<string, Progress>();
  private msgs: RaftMessage[] = [];
  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    if (this.config.heartbeatTicks >= this.config.electionTicks) throw new Error('raft: heartbeatTicks must be below electionTicks');
    if (!options.peers.includes(options.id)) throw new Error(`raft: peers must include this node (${options.id})`);
    this.peers = [...options.peers];
    this.rng = options.rng;
    const hs = options.persisted?.hardState ?? { term: 0, vote: '', commit: 0 };
    this.log = new RaftLog(options.persisted?.entries ?? [], hs.commit);
    this._term = hs.term;
    this._vote = hs.vote;
    this.prevHard = hs;
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

  /** The leader's view of a follower's replication, for tests and status. */
  progressOf(peer: string): Readonly<Progress> | undefined {
    return this.progress.get(peer);
  }

  // ---- inputs ------------------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this._role !== 'leader') {
      if (++this.electionElapsed >= this.randomizedTimeout) this.campaign();
      return;
    }
    this.electionElapsed++;
    for (const [p, pr] of this.progress) if (p !== this.id && pr.stalled(Math.max(2, this.config.electionTicks >> 1))) this.sendAppend(p);
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        const active = this.peers.filter((p) => p === this.id || this.progress.get(p)?.recentActive === true).length;
        for (const pr of this.progress.values()) pr.recentActive = false;
        if (active < this.quorum()) {
          this.becomeFollower(this._term, '');
          return;
        }
      }
    }
    if (++this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const p of this.others()) {
        this.send(p, 'heartbeat', { commit: Math.min(this.progress.get(p)!.match, this.log.committed) });
      }
    }
  }

  /** Starts an election now (pre-vote first if enabled), as an election timeout would. */
  campaign(): void {
    if (this._role === 'leader') return;
    if (this.config.preVote) this.becomePreCandidate();
    else this.becomeCandidate();
  }

  /**
   * Appends `data` to the log if this node is the leader; returns the new entry's index and term (it is
   * committed once it shows up in a Ready's committedEntries with that term). Throws NotLeaderError otherwise.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    if (this._role !== 'leader') throw new NotLeaderError(this._leader);
    const e = this.log.append(this._term, data);
    this.progress.get(this.id)!.ack(e.index);
    this.maybeCommit();
    this.broadcastAppend();
    return { index: e.index, term: e.term };
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id || !this.peers.includes(m.from)) return;
    if (m.term > this._term) {
      if ((m.type === 'vote' || m.type === 'pre-vote') && this.inLease()) return;
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-resp' && !m.reject)) {
        // Pre-vote traffic carries the proposed term; it changes nobody's term.
      } else {
        const fromLeader = m.type === 'app' || m.type === 'heartbeat';
        this.becomeFollower(m.term, fromLeader ? m.from : '');
      }
    } else if (m.term < this._term) {
      if (m.type === 'app' || m.type === 'heartbeat') {
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
        if (this._role === 'leader') return; // impossible: one leader per term
        if (this._role !== 'follower') this.becomeFollower(this._term, m.from);
        this._leader = m.from;
        this.electionElapsed = 0;
        if (m.type === 'app') this.handleAppend(m);
        else {
          this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
          this.send(m.from, 'heartbeat-resp', {});
        }
        return;
      case 'app-resp':
      case 'heartbeat-resp':
        if (this._role === 'leader') this.handleLeaderResponse(m);
        return;
    }
  }

  // ---- outputs -----------------------------------------------------------------------------------

  hasReady(): boolean {
    const hs = this.hardState();
    return (
      this.msgs.length > 0 ||
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
      snapshot: undefined,
      entries: this.log.unstableEntries(),
      messages: msgs,
      committedEntries: this.log.nextCommitted(),
    };
  }

  /** The driver persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
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
    this.resetTimers();
  }

  private becomePreCandidate(): void {
    // The term and vote stay as they are: this round only asks whether we could win at term + 1.
    this._role = 'pre-candidate';
    this._leader = '';
    this.resetTimers();
    this.startPoll('pre-vote', this._term + 1);
  }

  private becomeCandidate(): void {
    this._term++;
    this._vote = this.id;
    this._role = 'candidate';
    this._leader = '';
    this.resetTimers();
    this.startPoll('vote', this._term);
  }

  private becomeLeader(): void {
    this._role = 'leader';
    this._leader = this.id;
    this.resetTimers();
    this.progress = new Map(this.peers.map((p) => [p, new Progress(this.log.lastIndex() + 1)]));
    this.progress.get(this.id)!.becomeReplicate();
    const e = this.log.append(this._term, EMPTY);
    this.progress.get(this.id)!.ack(e.index);
    this.maybeCommit();
    this.broadcastAppend();
  }

  private startPoll(type: 'pre-vote' | 'vote', term: number): void {
    this.votes = new Map([[this.id, true]]);
    if (this.pollResult() === 'won') {
      this.winPoll();
      return;
    }
    for (const p of this.others()) {
      this.msgs.push({ type, from: this.id, to: p, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() });
    }
  }

  private winPoll(): void {
    if (this._role === 'pre-candidate') this.becomeCandidate();
    else this.becomeLeader();
  }

  private pollResult(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    for (const v of this.votes.values()) if (v) granted++;
    if (granted >= this.quorum()) return 'won';
    if (this.votes.size - granted > this.peers.length - this.quorum()) return 'lost';
    return 'pending';
  }

  // ---- handlers ----------------------------------------------------------------------------------

  private handleVoteRequest(m: Extract<RaftMessage, { type: 'vote' | 'pre-vote' }>): void {
    const pre = m.type === 'pre-vote';
    // A real vote needs us not to have voted for someone else in this term (and, without a vote, not to
    // know a leader). A pre-vote for a later term is always a fair question.
    const canVote = this._vote === m.from || (this._vote === '' && this._leader === '') || (pre && m.term > this._term);
    const grant = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const type = pre ? 'pre-vote-resp' : 'vote-resp';
    if (grant) {
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
    this.votes.set(m.from, !m.reject);
    const r = this.pollResult();
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
      this.log.commitTo(Math.min(m.commit, lastNew));
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

  private handleLeaderResponse(m: Extract<RaftMessage, { type: 'app-resp' | 'heartbeat-resp' }>): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.type === 'heartbeat-resp') {
      pr.probeSent = false;
      if (pr.state === 'replicate' && pr.inflight.length >= this.config.maxInflight) pr.inflight.shift();
      if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
      return;
    }
    if (m.reject) {
      // The leader's own term at the hinted term tells it how far back to go: just past its last entry of
      // that term if it has one (we agree up to there at best), else to the follower's first index of it.
      const ours = m.hintTerm === 0 ? undefined : this.log.lastIndexOfTerm(m.hintTerm);
      const hinted = ours !== undefined ? ours + 1 : m.hintIndex;
      if (pr.reject(m.index, hinted)) this.sendAppend(m.from);
      return;
    }
    if (pr.ack(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate();
      if (this.maybeCommit()) this.broadcastAppend();
    }
    while (pr.match < this.log.lastIndex() && pr.canSend(this.config.maxInflight) && pr.next <= this.log.lastIndex()) {
      if (!this.sendAppend(m.from)) break;
    }
  }

  // ---- replication -------------------------------------------------------------------------------

  /** Commits the highest index a majority holds, if its entry is of our term. Returns whether it moved. */
  private maybeCommit(): boolean {
    const matches = this.peers.map((p) => this.progress.get(p)?.match ?? 0).sort((a, b) => b - a);
    const n = matches[this.quorum() - 1] ?? 0;
    if (n > this.log.committed && this.log.term(n) === this._term) {
      this.log.commitTo(n);
      return true;
    }
    return false;
  }

  private broadcastAppend(): void {
    for (const p of this.others()) this.sendAppend(p, true);
  }

  /** Sends the next append to `to` if its progress allows; `force` sends even an empty one (commit news). */
  private sendAppend(to: string, force = false): boolean {
    const pr = this.progress.get(to)!;
    if (!pr.canSend(this.config.maxInflight)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return false; // compacted away: would need a snapshot (not implemented)
    const entries = this.log.slice(pr.next, this.log.lastIndex(), this.config.maxEntriesPerMessage);
    if (entries.length === 0 && !force && pr.state === 'replicate') return false;
    this.send(to, 'app', { prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sent(prevIndex + entries.length, entries.length);
    return true;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private send<T extends RaftMessage['type']>(to: string, type: T, payload: Payload<T>): void {
    this.msgs.push({ ...payload, type, from: this.id, to, term: this._term } as unknown as RaftMessage);
  }

  private others(): string[] {
    return this.peers.filter((p) => p !== this.id);
  }

  private quorum(): number {
    return Math.floor(this.peers.length / 2) + 1;
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

