/**
 * Scenario 3 of the fault harness: deletes while a replica is partitioned away, then heal. Keys are
 * written at W=ALL (every owner has the value), one node is isolated — and killed and restarted while
 * isolated, so it comes back from its disk still holding the old values — and every key is deleted at
 * W=2 through the other nodes. After heal, every owner must come to hold the tombstone (anti-entropy and
 * hints), and no read at R=ALL through any node may find a deleted value again: a delete is never undone
 * by a replica that missed it (README, "Guarantees" 4).
 */
import t from 'tap';
import { Client } from '../../client/index.js';
import { WrongOwnerError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { FaultCluster } from './fault-cluster.js';
import { inBatches, ownerCopies, readEverywhere } from './final-reads.js';
import { History, errorText, writeOutcome, writeReport } from './history.js';
import { seeded } from './nemesis.js';
import { waitFor } from '../support/wait.js';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const KEYS = 200;
const CLUSTER_ID = 'faults-deletes';

t.test(`deletes while a replica is partitioned (seed ${SEED}): no deleted key comes back`, async (t) => {
  const cluster = await FaultCluster.start(t, { nodes: 5, clusterId: CLUSTER_ID });
  const history = new History();
  const random = seeded(SEED);
  const victim = cluster.nodes[Math.floor(random() * cluster.nodes.length)]!;
  const others = cluster.nodes.filter((n) => n !== victim);
  const keys = Array.from({ length: KEYS }, (_, i) => `d-${i}`);

  const everyone = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 5000 });
  t.teardown(() => everyone.close());
  // 8 in flight (one at a time, 200 puts wait on one replica fsync round after another). This is the
  // setup, not the scenario: a put refused while a busy box's gossip suspects an owner is sent again.
  await inBatches(keys, 8, (key) =>
    waitFor(
      () => everyone.put(key, `v-${key}`, { consistency: 'ALL' }).then(() => true, () => false),
      60_000,
      `${key} written at ALL`,
    ),
  );

  cluster.partition([[victim.id], others.map((n) => n.id)]);
  history.fault(`isolate ${victim.id}`);
  await cluster.kill(victim.id);
  history.fault(`kill -9 ${victim.id}`);
  await cluster.restart(victim.id); // back from disk with the old values, still cut off from its peers
  history.fault(`restart ${victim.id} (isolated)`);

  // Deletes through the majority side only (the isolated node could coordinate nothing).
  const majority = new Client({ seeds: others.map((n) => n.address), tokenAware: false, defaultDeadlineMs: 5000 });
  t.teardown(() => majority.close());
  const acked: string[] = [];
  // 4 in flight: four times as fast as one at a time, and no request waits much longer than it would alone.
  await inBatches(keys, 4, async (key, worker) => {
    history.invoke(worker, 'delete', key);
    try {
      await majority.del(key, { consistency: 'QUORUM' });
      history.complete(worker, 'ok', 'delete', key);
      acked.push(key);
    } catch (err) {
      history.complete(worker, writeOutcome(err), 'delete', key, { error: errorText(err) });
    }
  });

  // The divergence under test: the isolated owner still holds the values the others deleted.
  let staleOnVictim = 0;
  for (const key of acked) {
    try {
      const res = await cluster.rpc.call(victim.address, Methods.ReplicaRead, { from: { clusterId: CLUSTER_ID, nodeId: 'faults-checker' }, key: Buffer.from(key) });
      if (res.found && res.record?.tombstone !== true) staleOnVictim++;
    } catch (err) {
      if (!(err instanceof WrongOwnerError)) throw err;
    }
  }
  t.ok(staleOnVictim > 0, `before heal, ${victim.id} still holds ${staleOnVictim} deleted values`);

  cluster.heal();
  history.fault('heal');
  await cluster.waitRing(5, 60_000);
  const { copies, convergedMs } = await ownerCopies(cluster, CLUSTER_ID, acked, (_key, c) => c?.tombstone === true);
  const missingTombstones = [...copies.values()].reduce((sum, c) => sum + c.owners - c.holding, 0);
  const reads = await readEverywhere(cluster, acked);
  const resurrected = acked.filter((k) => reads.get(k)!.some((r) => typeof r.value === 'string'));
  const unread = acked.filter((k) => reads.get(k)!.every((r) => r.value === undefined));
  const verdict = { scenario: 'partitioned-deletes', seed: SEED, victim: victim.id, deleted: acked.length, resurrected, unread, missingTombstones, convergedMs };
  t.comment(JSON.stringify({ ...verdict, resurrected: resurrected.slice(0, 20), unread: unread.slice(0, 20) }));
  writeReport('partitioned-deletes', SEED, history, { ...verdict, acknowledged: acked.length, lost: resurrected, missingCopies: missingTombstones });

  t.equal(acked.length, KEYS, 'the majority side took every delete at W=2');
  t.equal(missingTombstones, 0, `every owner, the isolated one too, holds the tombstones after heal (${convergedMs} ms)`);
  t.same(resurrected, [], 'no deleted key is found again at R=ALL through any node');
  t.same(unread, [], 'every deleted key could be read at R=ALL');
});
