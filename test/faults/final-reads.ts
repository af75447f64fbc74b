/**
 * The reads a scenario's checker needs once the faults are healed: every key at R=ALL through every node
 * (retried while gossip still marks an owner down), and each owner's own stored copy (ReplicaRead: no
 * quorum, no read repair) until every owner holds what the test expects, or a deadline; and the time
 * (and epochs) until every partition's Merkle root is equal on its owners.
 */
import Long from 'long';
import { TREE_VERSION } from '../../cluster/antientropy/merkle-format.js';
import { buildRing } from '../../cluster/ring.js';
import { WrongOwnerError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { waitFor } from '../support/wait.js';
import type { FaultCluster } from './fault-cluster.js';
import type { FinalRead, ReplicaCopies } from './unique-writes-checker.js';

const Level = mydatastore.client.Level;

/** Runs fn over items with at most `size` calls in flight; `worker` (0 to size-1) is the one running it. */
export async function inBatches<T>(items: readonly T[], size: number, fn: (item: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async (_, worker) => {
      while (next < items.length) await fn(items[next++]!, worker);
    }),
  );
}

/** Every key read at R=ALL through every node: the value, null for not found, undefined if every try failed. */
export async function readEverywhere(cluster: FaultCluster, keys: readonly string[]): Promise<Map<string, FinalRead[]>> {
  const reads = new Map<string, FinalRead[]>(keys.map((k) => [k, []]));
  const readAll = async (via: string, address: string, key: string): Promise<FinalRead> => {
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const res = await cluster.rpc.call(address, Methods.Get, { key: Buffer.from(key), r: { named: Level.ALL } }, { timeoutMs: 3000 });
        return { via, value: res.status === mydatastore.Status.OK ? Buffer.from(res.value).toString() : null };
      } catch {
        await new Promise((r) => setTimeout(r, 250)); // gossip has yet to see an owner alive again
      }
    }
    return { via, value: undefined };
  };
  await inBatches(keys, 32, async (key) => {
    for (const n of cluster.members) reads.get(key)!.push(await readAll(n.id, n.address, key));
  });
  return reads;
}

/** A stored copy as ReplicaRead returns it: undefined when the replica has none. */
export type StoredCopy = { value: string; tombstone: boolean } | undefined;

/**
 * Reads each owner's copy of every key until `holds(key, copy)` is true for every owner of every key, or
 * `timeoutMs` passes. Resolves with the counts (owners: nodes that did not answer WRONG_OWNER) and how
 * long it took.
 */
export async function ownerCopies(
  cluster: FaultCluster,
  clusterId: string,
  keys: readonly string[],
  holds: (key: string, copy: StoredCopy) => boolean,
  timeoutMs = 120_000,
): Promise<{ copies: Map<string, ReplicaCopies>; convergedMs: number }> {
  const copies = new Map<string, ReplicaCopies>();
  const from = { clusterId, nodeId: 'faults-checker' };
  const count = async (key: string): Promise<void> => {
    let owners = 0;
    let holding = 0;
    for (const n of cluster.members) {
      try {
        const res = await cluster.rpc.call(n.address, Methods.ReplicaRead, { from, key: Buffer.from(key) }, { timeoutMs: 3000 });
        owners++;
        const copy = res.found ? { value: Buffer.from(res.record?.value ?? []).toString(), tombstone: res.record?.tombstone === true } : undefined;
        if (holds(key, copy)) holding++;
      } catch (err) {
        if (!(err instanceof WrongOwnerError)) owners++; // an owner that could not answer holds nothing we saw
      }
    }
    copies.set(key, { owners, holding });
  };
  const start = Date.now();
  let missing = [...keys];
  await waitFor(
    async () => {
      await inBatches(missing, 32, count);
      missing = missing.filter((k) => copies.get(k)!.holding < copies.get(k)!.owners);
      return missing.length === 0;
    },
    timeoutMs,
    'every owner to hold its copy (anti-entropy and hinted handoff)',
  ).catch(() => undefined); // the checker reports what is still missing
  return { copies, convergedMs: Date.now() - start };
}

/**
 * Waits until every partition's Merkle root over all epochs (TreeHashes level 0, epochs [0, current]) is
 * equal on all of its owners (the read ring built from a node's Status, as clients build it). Resolves
 * with whether it happened within `timeoutMs`, how long it took, and how many epochs passed meanwhile.
 */
export async function merkleConvergence(cluster: FaultCluster, clusterId: string, timeoutMs = 120_000): Promise<{ equal: boolean; ms: number; epochs: number; partitions: number }> {
  const from = { clusterId, nodeId: 'faults-checker' };
  const status = async () => statusFromPb(await cluster.rpc.call(cluster.members[0]!.address, Methods.Status, {}));
  const s0 = await status();
  const members = s0.members.filter((m) => s0.ringMembers.includes(m.id));
  const ring = buildRing(members.map((m) => (m.zone === '' ? { id: m.id } : { id: m.id, meta: { zone: m.zone } })), { partitions: s0.config.partitions, replicas: s0.config.replicas });
  const addressOf = new Map(members.map((m) => [m.id, m.address]));
  const start = Date.now();
  let pending = Array.from({ length: s0.config.partitions }, (_, p) => p);
  let equal = false;
  await waitFor(
    async () => {
      const s = await status().catch(() => undefined);
      if (s === undefined) return false; // a node busy or restarting: poll again
      const epoch = Long.fromNumber(s.epoch, true);
      const epochs = { fromEpoch: Long.UZERO, toEpoch: epoch };
      const unequal: number[] = [];
      await inBatches(pending, 8, async (p) => {
        const req = { from, partition: p, epochs, treeVersion: TREE_VERSION, level: 0, indices: [0] };
        const roots = await Promise.all(ring.preferenceList(p).map(async (id) => Buffer.from((await cluster.rpc.call(addressOf.get(id)!, Methods.TreeHashes, req)).hashes).toString('hex'))).catch(() => undefined);
        if (roots === undefined || new Set(roots).size !== 1) unequal.push(p);
      });
      pending = unequal;
      return pending.length === 0;
    },
    timeoutMs,
    'every partition\'s Merkle root to be equal on its owners',
  ).then(
    () => (equal = true),
    () => undefined,
  );
  const s1 = await status().catch(() => s0);
  return { equal, ms: Date.now() - start, epochs: s1.epoch - s0.epoch, partitions: s0.config.partitions };
}
