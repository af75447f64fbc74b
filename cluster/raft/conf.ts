/**
 * Configuration: the voter/learner set in force on one node, kept in step with its commit index.
 *
 * A conf entry takes effect when the node learns it is committed (see raft.ts's header for why), so the
 * configuration is a function of the committed log: the configuration at the log's start (a snapshot's
 * conf, or the initial one) plus every committed conf entry after it, in order. `catchUp` folds in newly
 * committed entries; `at` recomputes the configuration at an older index for a snapshot.
 */
import { applyConfEntry } from './conf-change.js';
import type { RaftLog } from './log.js';
import type { ConfState } from './types.js';

export class Configuration {
  private current: ConfState;
  /** Conf entries up to here are folded into `current`. */
  private upTo: number;
  /** The configuration at the log's first index - 1 (the snapshot's), for `at`. */
  private base: ConfState;
  private baseIndex: number;

  constructor(base: ConfState, index: number) {
    this.current = base;
    this.base = base;
    this.upTo = index;
    this.baseIndex = index;
  }

  get state(): ConfState {
    return this.current;
  }

  isVoter(id: string): boolean {
    return this.current.voters.includes(id);
  }

  isMember(id: string): boolean {
    return this.current.voters.includes(id) || this.current.learners.includes(id);
  }

  voters(): readonly string[] {
    return this.current.voters;
  }

  members(): string[] {
    return [...this.current.voters, ...this.current.learners];
  }

  /** Votes or acks needed: a majority of the voters. */
  quorum(): number {
    return Math.floor(this.current.voters.length / 2) + 1;
  }

  /** Folds in the conf entries committed up to `commit`; returns whether the configuration changed. */
  catchUp(log: RaftLog, commit: number): boolean {
    if (commit <= this.upTo) return false;
    const before = this.current;
    for (const e of log.slice(this.upTo + 1, commit)) if (e.type === 'conf') this.current = applyConfEntry(this.current, e.data);
    this.upTo = commit;
    return this.current !== before;
  }

  /** The configuration in force at committed `index` (at least the log's start). */
  at(log: RaftLog, index: number): ConfState {
    let conf = this.base;
    for (const e of log.slice(this.baseIndex + 1, index)) if (e.type === 'conf') conf = applyConfEntry(conf, e.data);
    return conf;
  }

  /** The log was compacted through `index`, whose configuration is `conf`. */
  compacted(conf: ConfState, index: number): void {
    this.base = conf;
    this.baseIndex = index;
  }

  /** A snapshot replaced the log: its configuration is in force. */
  restore(conf: ConfState, index: number): void {
    this.current = conf;
    this.base = conf;
    this.upTo = index;
    this.baseIndex = index;
  }
}
