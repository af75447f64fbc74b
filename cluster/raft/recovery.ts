/**
 * The state a Raft node starts from: a restart's persisted hard state, snapshot and log, or a brand-new
 * node's configuration. The configuration in force is always rebuilt the same way, from the
 * configuration at the log's start (the snapshot's; the `peers` shorthand; else none) plus the committed
 * conf entries after it: uncommitted conf entries are not in force (see raft.ts's header).
 *
 * Bootstrap: a brand-new node given a configuration with voters writes it as committed conf entries
 * 1..n of term 1 (as etcd does), handed out in its first Ready to persist. Every node, including one
 * that joins later with an empty configuration, so learns the initial configuration from the log itself.
 */
import { encodeConfChange } from './conf-change.js';
import { Configuration } from './conf.js';
import { RaftLog } from './log.js';
import type { ConfChange, ConfState, HardState, PersistedState, Snapshot } from './types.js';

export interface Recovered {
  readonly log: RaftLog;
  readonly conf: Configuration;
  readonly term: number;
  readonly vote: string;
  /** The hard state on stable storage (what the first Ready compares against). */
  readonly stored: HardState;
  readonly snapshot: Snapshot | undefined;
}

export function recover(id: string, persisted?: PersistedState, conf?: ConfState, peers?: readonly string[]): Recovered {
  const snap = persisted?.snapshot;
  const hs = persisted?.hardState ?? { term: 0, vote: '', commit: 0 };
  const entries = persisted?.entries ?? [];
  let base: ConfState = snap?.conf ?? { voters: [], learners: [] };
  if (peers !== undefined) {
    if (!peers.includes(id)) throw new Error(`raft: peers must include this node (${id})`);
    if (snap === undefined) base = { voters: [...peers], learners: [] };
  }
  const log = new RaftLog(entries, hs.commit, snap);
  let term = hs.term;
  if (peers === undefined && snap === undefined && entries.length === 0 && conf !== undefined && conf.voters.length > 0) {
    const changes: ConfChange[] = [
      ...conf.voters.map((node) => ({ type: 'add-voter' as const, node })),
      ...conf.learners.map((node) => ({ type: 'add-learner' as const, node })),
    ];
    log.appendFromLeader(0, changes.map((c, i) => ({ index: i + 1, term: 1, type: 'conf' as const, data: encodeConfChange(c) })));
    log.commitTo(changes.length);
    term = Math.max(term, 1);
  }
  const configuration = new Configuration(base, log.snapshotIndex);
  configuration.catchUp(log, log.committed);
  return { log, conf: configuration, term, vote: hs.vote, stored: hs, snapshot: snap };
}
