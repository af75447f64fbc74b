/**
 * Types of the pure Raft state machine (raft.ts): log entries, persistent and volatile state, the messages
 * peers exchange, what `ready()` hands to the driver, configuration and typed errors. Plain TypeScript, no
 * I/O; `codec.ts` turns messages into bytes for RaftRequest.message of proto/cluster.proto.
 *
 */

/**
 * What an entry carries: 'normal' entries are the application's commands (opaque bytes); 'conf' entries
 * carry an encoded ConfChange (see encodeConfChange in conf-change.ts) and change the voter/learner set.
 */
export type EntryType = 'normal' | 'conf';

/**
 * One log entry. An empty 'normal' `data` is the no-op a new leader appends to commit entries of earlier
 * terms. Applications see conf entries in committedEntries too (Raft has already acted on them).
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** A change of the Raft configuration, one server at a time (thesis §4.1). */
export interface ConfChange {
  readonly type: 'add-voter' | 'add-learner' | 'remove';
  readonly node: string;
}

/** The Raft configuration: who votes and who only receives the log. Disjoint sets. */
export interface ConfState {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

/**
 * A snapshot of the application's state machine at `index` (the last entry it covers, of `term`), with the
 * configuration in force at that index. `data` is the application's serialized state, opaque to Raft.
 */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
  readonly data: Uint8Array;
}

/** What must be on stable storage (fsynced) before the messages of the same Ready are sent. */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`, or '' for none. */
  readonly vote: string;
  readonly commit: number;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state, reported for logs and status; never persisted. */
export interface SoftState {
  /** The leader this node follows (itself when leader), or '' when unknown. */
  readonly leader: string;
  readonly role: Role;
}

interface Base {
  readonly from: string;
  readonly to: string;
  readonly term: number;
}

/**
 * Messages. A `pre-vote` carries the term the sender *would* campaign in, without having raised its own
 * (Raft thesis §9.6); a granted `pre-vote-resp` echoes that term. `app-resp` either acks up to `index`
 * or rejects the append whose prevIndex was `index`, with a hint for fast backtracking: the term of the
 * follower's entry at that index (0 when its log is shorter) and the first index the leader should try.
 */
export type RaftMessage =
  | (Base & { readonly type: 'pre-vote'; readonly lastIndex: number; readonly lastTerm: number })
  | (Base & {
      readonly type: 'vote';
      readonly lastIndex: number;
      readonly lastTerm: number;
      /** Sent by a leadership-transfer target (after timeout-now): voters grant it despite the leader lease. */
      readonly transfer?: boolean;
    })
  | (Base & { readonly type: 'pre-vote-resp'; readonly reject: boolean })
  | (Base & { readonly type: 'vote-resp'; readonly reject: boolean })
  | (Base & {
      readonly type: 'app';
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (Base & {
      readonly type: 'app-resp';
      readonly index: number;
      readonly reject: boolean;
      readonly hintTerm: number;
      readonly hintIndex: number;
    })
  | (Base & { readonly type: 'heartbeat'; readonly commit: number })
  | (Base & { readonly type: 'heartbeat-resp' })
  /** InstallSnapshot: the leader compacted the entries the follower needs; acked with app-resp at its index. */
  | (Base & { readonly type: 'snap'; readonly snapshot: Snapshot })
  /** Leadership transfer: the leader tells an up-to-date voter to campaign now, skipping pre-vote. */
  | (Base & { readonly type: 'timeout-now' });

export type MessageType = RaftMessage['type'];

/**
 * The output of one round. The driver must, in this order: persist `snapshot` (if any: it replaces the
 * stored log up to its index, and stored entries after its index must be dropped too — a follower's log
 * that disagrees with the snapshot is discarded; the entries Raft keeps after it come again in `entries`),
 * `hardState` (if any) and `entries` (overwriting any stored entries from the
 * first one's index on) and fsync; send `messages`; restore the state machine from `snapshot` (if any), then
 * apply `committedEntries` in order; then call `advance(ready)`.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly softState: SoftState | undefined;
  /** A snapshot received from the leader (InstallSnapshot), to persist and restore from. */
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  readonly committedEntries: readonly Entry[];
}

/** The injected source of randomness: a float in [0, 1). A seeded one replays a simulation exactly. */
export interface Random {
  next(): number;
}

export interface RaftConfig {
  /** Election timeout base, in ticks; each timeout is drawn uniformly from [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  /** The leader sends heartbeats every this many ticks. Must be well below electionTicks. */
  readonly heartbeatTicks: number;
  /** Campaign with a pre-vote round first, so a node that cannot win does not raise the term. */
  readonly preVote: boolean;
  /**
   * A leader that has not heard from a majority within electionTicks steps down; and a follower that has
   * heard from its leader within electionTicks ignores (pre-)vote requests (the leader lease of thesis §4.2.3).
   */
  readonly checkQuorum: boolean;
  /** Most entries in one append message. */
  readonly maxEntriesPerMessage: number;
  /** Most append messages in flight to one follower while it keeps up (pipelining window). */
  readonly maxInflight: number;
}

export const DEFAULT_CONFIG: RaftConfig = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerMessage: 64,
  maxInflight: 8,
};

/** A proposal reached a node that is not the leader; `leader` is the leader it knows of, or ''. */
export class NotLeaderError extends Error {
  readonly code = 'RAFT_NOT_LEADER';
  constructor(readonly leader: string) {
    super(leader === '' ? 'not the leader; no leader known' : `not the leader; the leader is ${leader}`);
    this.name = 'NotLeaderError';
  }
}

/**
 * A conf change was proposed while an earlier one is not yet committed and applied, or before the leader
 * committed an entry of its own term (Ongaro's 2015 fix to single-server changes): retry later.
 */
export class ConfChangePendingError extends Error {
  readonly code = 'RAFT_CONF_CHANGE_PENDING';
  constructor(message: string) {
    super(message);
    this.name = 'ConfChangePendingError';
  }
}

/** A conf change that makes no sense for the current configuration (adding a voter twice, removing the last voter, ...). */
export class BadConfChangeError extends Error {
  readonly code = 'RAFT_BAD_CONF_CHANGE';
  constructor(message: string) {
    super(message);
    this.name = 'BadConfChangeError';
  }
}

/** The leader is handing leadership to `to` and refuses proposals until that succeeds or times out. */
export class TransferringError extends Error {
  readonly code = 'RAFT_TRANSFERRING';
  constructor(readonly to: string) {
    super(`leadership is being transferred to ${to}; retry on the new leader`);
    this.name = 'TransferringError';
  }
}

/** transferLeadership() to a node that is not another voter of the configuration. */
export class BadTransferError extends Error {
  readonly code = 'RAFT_BAD_TRANSFER';
  constructor(message: string) {
    super(message);
    this.name = 'BadTransferError';
  }
}

/** compact() at an index that is not applied yet or already compacted. */
export class BadCompactionError extends Error {
  readonly code = 'RAFT_BAD_COMPACTION';
  constructor(message: string) {
    super(message);
    this.name = 'BadCompactionError';
  }
}

/** What status() reports. `progress` is the leader's view of every other member (empty on a non-leader). */
export interface RaftStatus {
  readonly id: string;
  readonly term: number;
  readonly vote: string;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly role: Role;
  readonly leader: string;
  readonly conf: ConfState;
  readonly progress: Record<string, { match: number; next: number; learner: boolean }>;
}

/** A Raft message from a peer is malformed or over the limits (codec.ts); the message is dropped. */
export class RaftDecodeError extends Error {
  readonly code = 'RAFT_BAD_MESSAGE';
  constructor(message: string) {
    super(message);
    this.name = 'RaftDecodeError';
  }
}

/**
 * Persisted state a node restarts from: the hard state, the latest snapshot (if any) and the stored log,
 * whose entries are contiguous from the snapshot's index + 1 (from 1 without a snapshot).
 */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
}
