/**
 * The unique-key write workload shared by scenarios 1 and 4: writers each put keys `<prefix>-<p>-<i>` once,
 * with value `v-<key>`, at W=2, recording every operation; and, once the faults are healed, the reads
 * and the verdict (final-reads.ts gathers, unique-writes-checker.ts judges).
 */
import type { Client } from '../../client/index.js';
import type { FaultCluster } from './fault-cluster.js';
import { merkleConvergence, ownerCopies, readEverywhere } from './final-reads.js';
import { errorText, writeOutcome, type History } from './history.js';
import { checkUniqueWrites, type UniqueWritesVerdict } from './unique-writes-checker.js';

/** Pause between one writer's writes: bounds the keys the final reads check (about 25 per second each). */
const WRITE_GAP_MS = 40;

/** Runs `writers` sequential writers until `stop()` says so. */
export async function writeUniqueKeys(client: Client, history: History, prefix: string, writers: number, stop: () => boolean): Promise<void> {
  const writer = async (p: number): Promise<void> => {
    for (let i = 0; !stop(); i++) {
      const key = `${prefix}-${p}-${i}`;
      const value = `v-${key}`;
      history.invoke(p, 'write', key, value);
      try {
        await client.put(key, value, { consistency: 'QUORUM' });
        history.complete(p, 'ok', 'write', key);
      } catch (err) {
        history.complete(p, writeOutcome(err), 'write', key, { error: errorText(err) });
      }
      await new Promise((r) => setTimeout(r, WRITE_GAP_MS));
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, p) => writer(p)));
}

export interface UniqueWritesOutcome {
  verdict: UniqueWritesVerdict;
  /** How long until every owner held every key a final read found. */
  convergedMs: number;
  /** Scenario 5: every partition's Merkle root equal on its owners, and how long that took. */
  merkle: Awaited<ReturnType<typeof merkleConvergence>>;
}

/** After heal: each owner's copy of every acknowledged key, the Merkle roots, then every key at R=ALL through every member. */
export async function judgeUniqueWrites(cluster: FaultCluster, clusterId: string, history: History): Promise<UniqueWritesOutcome> {
  const keys = [...new Set(history.ops.filter((o) => o.f === 'write').map((o) => o.key))];
  // Copies and roots first: the R=ALL reads below repair stale owners, and would hide a broken hinted
  // handoff, anti-entropy or streaming. Only acknowledged keys must be everywhere.
  const acked = new Set(history.ops.filter((o) => o.f === 'write' && o.type === 'ok').map((o) => o.key));
  const { copies, convergedMs } = await ownerCopies(cluster, clusterId, [...acked], (key, c) => c !== undefined && !c.tombstone && c.value === `v-${key}`);
  const merkle = await merkleConvergence(cluster, clusterId);
  const reads = await readEverywhere(cluster, keys);
  return { verdict: checkUniqueWrites(history.ops, reads, copies), convergedMs, merkle };
}
