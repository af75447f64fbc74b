/**
 * An in-memory cluster for the data-path unit tests: per node a ReplicaStore and HintStore on a
 * MemFileSystem, a ReplicaService, and a Coordinator whose transport calls the other nodes' services
 * directly. A node can be down (calls fail like a refused connection, gossip calls it dead) or silent
 * (calls never answer: a hung node gossip still believes alive).
 */
import type { Test } from 'tap';
import { Coordinator } from '../../cluster/coordinator.js';
import { HintReplayer } from '../../cluster/coordinator-hints.js';
import { RingCache, type RingView } from '../../cluster/coordinator-ring.js';
import type { ReplicaTransport } from '../../cluster/coordinator-transport.js';
import { HintStore } from '../../cluster/hints/hint-store.js';
import { HybridClock } from '../../cluster/hlc.js';
import { ReplicaService, toReplicaRpcError, type KeyedRecord, type ReplicaEndpoint } from '../../cluster/replica-service.js';
import type { ClusterState } from '../../cluster/state/cluster-state.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import { MemFileSystem } from '../../lsm/index.js';
import { ConnectionError } from '../../rpc/errors.js';
import { silentLogger } from '../../rpc/logger.js';

export interface FixtureNode {
  readonly id: string;
  /** The node's disk: crash() it, then reopenAfterCrash() to see what survived a power loss. */
  readonly fs: MemFileSystem;
  readonly store: ReplicaStore;
  readonly hints: HintStore;
  readonly service: ReplicaService;
  readonly coordinator: Coordinator;
  readonly replayer: HintReplayer;
  /** Power loss of this node's disk; resolves with its store reopened on what survived (closed at teardown). */
  crashAndReopen(): Promise<ReplicaStore>;
}

export interface Fixture {
  readonly nodes: Map<string, FixtureNode>;
  node(id: string): FixtureNode;
  /** Down: calls fail at once and gossip calls it dead. */
  readonly down: Set<string>;
  /** Silent: calls never answer (gossip still believes it alive). */
  readonly silent: Set<string>;
  /** ReplicaReads each node was sent through the transport (a coordinator's own replica is not counted). */
  readonly remoteReads: Map<string, number>;
  /** Replaces the committed state every node sees. */
  setState(s: ClusterState): void;
  state(): ClusterState;
}

export function clusterState(ids: readonly string[], opts: { epoch?: number; replicas?: number; partitions?: number } = {}): ClusterState {
  return {
    epoch: opts.epoch ?? 5,
    config: { partitions: opts.partitions ?? 64, replicas: opts.replicas ?? 3, readQuorum: 2, writeQuorum: 2 },
    members: ids.map((id) => ({ id, address: `mem:${id}`, zone: '', status: 'active' as const, joinedEpoch: 1 })),
    appliedIndex: 10,
    created: true,
  };
}

export interface FixtureOptions {
  /** Each node's wall clock in ms (default Date.now): a skewed clock for a node. */
  readonly wall?: (id: string) => () => number;
  /** The coordinators' speculativeReadMs (default theirs). */
  readonly speculativeReadMs?: number;
  /** The stores' syncIntervalMs (default theirs). */
  readonly syncIntervalMs?: number;
  /** The coordinators' durableWrites (default theirs). */
  readonly durableWrites?: boolean;
}

export async function makeFixture(t: Test, ids: readonly string[], state: ClusterState = clusterState(ids), options: FixtureOptions = {}): Promise<Fixture> {
  let current = state;
  const down = new Set<string>();
  const silent = new Set<string>();
  const remoteReads = new Map<string, number>();
  const nodes = new Map<string, FixtureNode>();
  const isUp = (n: string) => !down.has(n);
  const remote = (node: string): ReplicaEndpoint => {
    // Like the RPC path: a down node refuses, a silent one hangs, errors come back as their RPC form.
    const call = async <T>(fn: (s: ReplicaService) => Promise<T>): Promise<T> => {
      await Promise.resolve();
      if (down.has(node)) throw new ConnectionError(`connect ECONNREFUSED ${node}`);
      if (silent.has(node)) return new Promise<T>(() => undefined);
      try {
        return await fn(nodes.get(node)!.service);
      } catch (err) {
        throw toReplicaRpcError(err);
      }
    };
    return {
      write: (records: readonly KeyedRecord[], hintFor: string | undefined, sync?: boolean) => call((s) => s.write(records, hintFor, sync)),
      read: (key: Uint8Array) => {
        remoteReads.set(node, (remoteReads.get(node) ?? 0) + 1);
        return call((s) => s.read(key));
      },
    };
  };
  const transport: ReplicaTransport = { endpoint: (node: string, view: RingView) => (view.addressOf(node) === undefined ? remote('?') : remote(node)) };
  for (const id of ids) {
    const fs = new MemFileSystem();
    const storeOptions = { fs, ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: options.syncIntervalMs }) };
    const store = await ReplicaStore.open('/store', storeOptions);
    const hints = await HintStore.open('/hints', { fs });
    const rings = new RingCache(() => current);
    const clock = new HybridClock(id, options.wall?.(id) ?? Date.now);
    const service = new ReplicaService({ nodeId: id, clusterId: 'c', store, hints, view: () => rings.current(), clock });
    const common = { nodeId: id, transport, rings, hints, logger: silentLogger };
    const speculation = options.speculativeReadMs === undefined ? {} : { speculativeReadMs: options.speculativeReadMs };
    const durability = options.durableWrites === undefined ? {} : { durableWrites: options.durableWrites };
    const coordinator = new Coordinator({ ...common, local: service, isAlive: isUp, clock, deadlineMs: 2000, ...speculation, ...durability });
    const replayer = new HintReplayer({ ...common, isAlive: isUp, intervalMs: 10 });
    let crashed = false;
    const reopened: ReplicaStore[] = [];
    const crashAndReopen = async (): Promise<ReplicaStore> => {
      crashed = true;
      fs.crash();
      const again = await ReplicaStore.open('/store', storeOptions);
      reopened.push(again);
      return again;
    };
    nodes.set(id, { id, fs, store, hints, service, coordinator, replayer, crashAndReopen });
    t.teardown(async () => {
      await replayer.stop();
      await coordinator.drain();
      // After a crash the old handles are dead: closing them fails, as it would in the lost process.
      const close = (c: { close(): Promise<void> }) => (crashed ? c.close().catch(() => undefined) : c.close());
      await close(store);
      await close(hints);
      for (const r of reopened) await r.close();
    });
  }
  return {
    nodes,
    node: (id) => nodes.get(id)!,
    down,
    silent,
    remoteReads,
    setState: (s) => (current = s),
    state: () => current,
  };
}
