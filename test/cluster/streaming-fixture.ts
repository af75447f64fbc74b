/**
 * Partition streaming over the in-memory data fixture (data-fixture.ts): a real ClusterStateMachine
 * driven by the real planner (every member alive per gossip unless the fixture marks it down), and a
 * StreamingService per node whose pages come straight from the source node's store (readPage, the same
 * function the StreamPartition handler answers with) and whose stream-done commits into that state
 * machine. Every node sees each committed state at once, so the barrier passes immediately.
 */
import type { Test } from 'tap';
import { encodeCommand, type ClusterCommand } from '../../cluster/state/commands.js';
import { ClusterStateMachine } from '../../cluster/state/cluster-state.js';
import { DEFAULT_PLANNER_OPTIONS, planLeaderActions, type GossipView } from '../../cluster/state/planner.js';
import { readPage } from '../../cluster/streaming/responder.js';
import { StreamingService } from '../../cluster/streaming/service.js';
import { ConnectionError } from '../../rpc/errors.js';
import { silentLogger, type Logger } from '../../rpc/logger.js';
import { makeFixture, type Fixture } from './data-fixture.js';

export interface StreamingFixture {
  readonly f: Fixture;
  readonly sm: ClusterStateMachine;
  readonly services: Map<string, StreamingService>;
  /** Ids gossip reports (alive unless in f.down). */
  readonly gossip: Set<string>;
  commit(commands: readonly ClusterCommand[]): void;
  /** One round of the leader's planner (self = `leader`), its commands committed. */
  plan(leader?: string): void;
  /** Log lines of every service ("node: line"). */
  readonly lines: string[];
}

export async function makeStreamingFixture(t: Test, ids: readonly string[], initial: readonly string[], opts: { partitions?: number } = {}): Promise<StreamingFixture> {
  const sm = new ClusterStateMachine();
  const ref: { f?: Fixture } = {}; // set once the fixture exists; commits before that only build the state
  const commit = (commands: readonly ClusterCommand[]): void => {
    for (const c of commands) sm.apply({ index: sm.state().appliedIndex + 1, term: 1, type: 'normal', data: encodeCommand(c) });
    ref.f?.setState(sm.state());
  };
  commit([{ type: 'set-config', config: { partitions: opts.partitions ?? 64, replicas: 3, readQuorum: 2, writeQuorum: 2 } }]);
  commit(initial.map((id) => ({ type: 'add-member', id, address: `mem:${id}`, zone: '' })));
  const joiners = sm.state().members.filter((m) => m.status === 'joining');
  commit(joiners.map((m) => ({ type: 'stream-done', id: m.id, transition: sm.state().transition ?? 0 })));
  if (joiners.length > 0) commit([{ type: 'finish-transition', transition: sm.state().transition ?? 0 }]);
  const fixture = await makeFixture(t, ids, sm.state());
  ref.f = fixture;
  const gossip = new Set(initial);
  const lines: string[] = [];
  const services = new Map<string, StreamingService>();
  for (const id of ids) {
    const line =
      (level: string) =>
      (msg: string): void =>
        void lines.push(`${id} ${level}: ${msg}`);
    const logger: Logger = { ...silentLogger, info: line('info'), warn: line('warn') };
    const service = new StreamingService({
      nodeId: id,
      store: fixture.node(id).store,
      state: () => fixture.state(),
      isAlive: (n) => !fixture.down.has(n),
      fetchPage: async (source, partition, resume, maxBytes) => {
        await Promise.resolve();
        if (fixture.down.has(source)) throw new ConnectionError(`connect ECONNREFUSED ${source}`);
        return readPage(fixture.node(source).store, partition, resume, maxBytes);
      },
      appliedIndexOf: () => Promise.resolve(fixture.state().appliedIndex),
      reportDone: (transition) => {
        commit([{ type: 'stream-done', id, transition }]);
        return Promise.resolve((sm.state().members.find((m) => m.id === id)?.streamedTransition ?? 0) === transition);
      },
      logger,
      pageBytes: 4096,
      pollMs: 10,
      settleMs: 5,
      retryMs: 20,
    });
    services.set(id, service);
    service.start();
    t.teardown(() => service.stop());
  }
  const plan = (leader = initial[0]!): void => {
    const view: GossipView[] = [...gossip].map((id) => ({ id, address: `mem:${id}`, zone: '', state: fixture.down.has(id) ? 'dead' : 'alive', sinceMs: 0 }));
    const members = sm.state().members.map((m) => m.id);
    const p = planLeaderActions({
      self: leader,
      state: sm.state(),
      conf: { voters: [leader], learners: members.filter((m) => m !== leader) },
      gossip: view,
      nowMs: 1,
      lastEpochBumpMs: 1,
      // The clock stands still here: no join grace (joining together is the planner tests' subject).
      options: { ...DEFAULT_PLANNER_OPTIONS, removeDeadAfterMs: 60_000, joinGraceMs: 0 },
      pendingConfChange: true,
    });
    commit(p.commands);
  };
  return { f: fixture, sm, services, gossip, commit, plan, lines };
}
