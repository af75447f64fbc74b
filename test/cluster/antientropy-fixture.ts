/**
 * An in-memory cluster for the anti-entropy unit tests: per node a ReplicaStore and HintStore on a
 * MemFileSystem, a ReplicaService wired to its AntiEntropyService (late writes, tree cache), and a
 * transport that calls the other nodes' responders and replica services directly, with the RPC error
 * mapping. Writes are placed on chosen nodes with chosen epochs, the way a replica that was down
 * misses them. Time is a manual clock; sleeps are recorded, not slept.
 */
import type { Test } from 'tap';
import { RingCache, type RingView } from '../../cluster/coordinator-ring.js';
import { HintStore } from '../../cluster/hints/hint-store.js';
import { ReplicaService } from '../../cluster/replica-service.js';
import type { ClusterState } from '../../cluster/state/cluster-state.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import type { StoredRecord } from '../../cluster/storage/record.js';
import type { AntiEntropyPeer, AntiEntropyTransport } from '../../cluster/antientropy/peers.js';
import { toAntiEntropyRpcError } from '../../cluster/antientropy/responder.js';
import { AntiEntropyService, type AntiEntropyServiceOptions } from '../../cluster/antientropy/service.js';
import { VerifiedStore } from '../../cluster/antientropy/verified-store.js';
import { MemFileSystem } from '../../lsm/index.js';
import { ConnectionError } from '../../rpc/errors.js';
import { silentLogger } from '../../rpc/logger.js';
import { clusterState } from './data-fixture.js';

export interface AeNode {
  readonly id: string;
  readonly fs: MemFileSystem;
  readonly store: ReplicaStore;
  readonly replica: ReplicaService;
  ae: AntiEntropyService;
  readonly view: () => RingView | undefined;
  /** Reopens the service on the same files (its markers reloaded). */
  reopen(): Promise<AntiEntropyService>;
}

export interface AeFixture {
  readonly nodes: Map<string, AeNode>;
  node(id: string): AeNode;
  readonly down: Set<string>;
  /** Peers whose anti-entropy calls fail (a broken responder), though gossip says alive. */
  readonly failing: Set<string>;
  /** The manual clock, in ms. */
  clock: number;
  readonly sleeps: number[];
  setState(s: ClusterState): void;
  /** Stores a record on the given nodes only (as if the others missed it). */
  put(on: readonly string[], key: string, record: Omit<StoredRecord, 'partition'>): Promise<void>;
  partitionOf(key: string): number;
}

/** The committed state of a cluster of `ids` (data-fixture's, with our epoch, P and N). */
export function aeState(ids: readonly string[], opts: { epoch: number; partitions?: number; replicas?: number }): ClusterState {
  return clusterState(ids, { epoch: opts.epoch, partitions: opts.partitions ?? 8, replicas: opts.replicas ?? 3 });
}

export async function makeAeFixture(t: Test, ids: readonly string[], state: ClusterState, extra: Partial<AntiEntropyServiceOptions> = {}): Promise<AeFixture> {
  let current = state;
  const nodes = new Map<string, AeNode>();
  const down = new Set<string>();
  const failing = new Set<string>();
  const sleeps: number[] = [];
  const f = {
    nodes,
    node: (id: string) => nodes.get(id)!,
    down,
    failing,
    clock: 1_000_000,
    sleeps,
    setState: (s: ClusterState) => (current = s),
    put: async (on: readonly string[], key: string, r: Omit<StoredRecord, 'partition'>) => {
      const k = Buffer.from(key);
      const record = { ...r, partition: f.partitionOf(key) };
      for (const id of on) await nodes.get(id)!.replica.write([{ key: k, record }], undefined);
    },
    partitionOf: (key: string) => new RingCache(() => current).current()!.ring.partitionOf(Buffer.from(key)),
  };
  const call = async <T>(node: string, fn: () => Promise<T>): Promise<T> => {
    await Promise.resolve();
    if (down.has(node)) throw new ConnectionError(`connect ECONNREFUSED ${node}`);
    try {
      return await fn();
    } catch (err) {
      throw toAntiEntropyRpcError(err);
    }
  };
  const transport: AntiEntropyTransport = {
    peer(node: string): AntiEntropyPeer {
      const n = () => {
        if (failing.has(node)) throw new Error(`${node} fails`);
        return nodes.get(node)!;
      };
      return {
        treeHashes: (q) => call(node, () => n().ae.responder.treeHashes(q)),
        bucketRecords: (q) => call(node, () => n().ae.responder.bucketRecords(q)),
        write: (records) => call(node, () => n().replica.write(records, undefined)),
      };
    },
  };
  for (const id of ids) {
    const fs = new MemFileSystem();
    const store = await ReplicaStore.open('/store', { fs });
    const hints = await HintStore.open('/hints', { fs });
    const rings = new RingCache(() => current);
    const view = () => rings.current();
    const open = () =>
      AntiEntropyService.open({
        nodeId: id,
        clusterId: 'c',
        store,
        view,
        isAlive: (n) => !down.has(n),
        transport,
        verified: new VerifiedStore(fs, '/antientropy'),
        logger: silentLogger,
        now: () => f.clock,
        sleep: (ms) => {
          sleeps.push(ms);
          f.clock += ms;
          return Promise.resolve();
        },
        pause: () => Promise.resolve(),
        ...extra,
      });
    const node: AeNode = {
      id,
      fs,
      store,
      replica: new ReplicaService({ nodeId: id, clusterId: 'c', store, hints, view, onApplied: (_k, r) => node.ae.noteApplied(r) }),
      ae: await open(),
      view,
      reopen: async () => {
        await node.ae.stop();
        node.ae = await open();
        return node.ae;
      },
    };
    nodes.set(id, node);
    t.teardown(async () => {
      await node.ae.stop();
      await store.close();
      await hints.close();
    });
  }
  return f;
}

/** Runs rounds on the given nodes until none has anything due (at most `max` rounds). */
export async function settle(f: AeFixture, ids: readonly string[], max = 20): Promise<number> {
  let rounds = 0;
  for (; rounds < max; rounds++) {
    let ran = 0;
    for (const id of ids) ran += await f.node(id).ae.runRound();
    if (ran === 0) break;
  }
  return rounds;
}

/** Every record of a node's store in the given partitions and epochs, as `key → "value|tombstone@ms"`. */
export async function contents(n: AeNode, partitions: number, epochs: { from: number; to: number }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let p = 0; p < partitions; p++) {
    for (let e = epochs.from; e <= epochs.to; e++) {
      for await (const { key, record } of n.store.scanPartition(e, p)) {
        out.set(key.toString(), `${record.tombstone ? '(tombstone)' : Buffer.from(record.value).toString()}@${record.timestamp.physicalMs}`);
      }
    }
  }
  return out;
}
