/**
 * Scenario 4 of the fault harness: membership churn under load while the Raft leader is partitioned
 * away. Five nodes take unique-key writes at W=2; the leader is isolated, the others elect a new one; a
 * sixth node starts and one of the followers is decommissioned through the majority side, which commits
 * it as leaving. The removal completes only after the heal (the isolated old leader is still a member
 * and must stream the partitions it gains), and so does the join. Once the ring is the new five, every acknowledged key must be found at R=ALL through
 * every member, every owner under the new ring must hold it (streaming, hints, anti-entropy), and the
 * Merkle roots must agree (README, "Guarantees" 1).
 */
import t from 'tap';
import { Client, TimeoutError, UnavailableError } from '../../client/index.js';
import { Methods } from '../../rpc/methods.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { waitFor } from '../support/wait.js';
import { FaultCluster } from './fault-cluster.js';
import { History, writeReport } from './history.js';
import { seeded } from './nemesis.js';
import { judgeUniqueWrites, writeUniqueKeys } from './unique-writes-workload.js';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const WRITERS = 4;
const CLUSTER_ID = 'faults-churn';

t.test(`a join and a decommission while the Raft leader is partitioned (seed ${SEED}): nothing acknowledged is lost`, async (t) => {
  const cluster = await FaultCluster.start(t, { nodes: 6, initial: 5, clusterId: CLUSTER_ID });
  const history = new History();
  const random = seeded(SEED);
  const client = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 2000, connectTimeoutMs: 1000 });
  t.teardown(() => client.close());

  let stop = false;
  t.teardown(() => void (stop = true)); // a failing step must not leave the writers looping
  const writing = writeUniqueKeys(client, history, 'c', WRITERS, () => stop);

  const status = async (address: string) => statusFromPb(await cluster.rpc.call(address, Methods.Status, {}));
  // Raft adds voters one at a time: isolating the leader before every node has applied the config with
  // three voters would leave the other side without a majority (correctly). Wait until all have.
  let leader = '';
  await waitFor(
    async () => {
      const ss = await Promise.all(cluster.members.map((n) => status(n.address))).catch(() => undefined);
      const lead = ss?.find((s) => s.role === 'leader');
      if (ss === undefined || lead === undefined) return false;
      leader = lead.nodeId;
      return ss.every((s) => s.voters.length === 3 && s.leaderId === leader && s.appliedIndex >= lead.lastIndex);
    },
    60_000,
    'every node to apply the Raft config with three voters',
  );
  const followers = cluster.members.filter((n) => n.id !== leader);
  const leaving = followers[Math.floor(random() * followers.length)]!;
  const joiner = cluster.node('n6');
  const majority = [...followers.map((n) => n.id), joiner.id];
  cluster.partition([[leader], majority]);
  history.fault(`isolate the Raft leader ${leader}`);
  t.comment(`isolated the leader ${leader}`);

  await cluster.join(joiner.id);
  history.fault(`start ${joiner.id} (joins)`);
  t.comment(`${joiner.id} started`);
  const via = followers.find((n) => n !== leaving)!;
  // The Decommission call returns once the removal is committed, which needs every node gaining one of
  // its partitions to stream them in — the isolated old leader among them (it is still a member). So the
  // churn starts under the partition and finishes after the heal: the call runs in the background.
  const decommissioned = waitFor(
    async () => {
      try {
        await cluster.rpc.call(via.address, Methods.Decommission, { nodeId: leaving.id }, { timeoutMs: 12_000 });
        return true;
      } catch (err) {
        // No leader yet on the majority side, or the request went to the isolated old one: try again.
        if (err instanceof UnavailableError || err instanceof TimeoutError) return false;
        throw err;
      }
    },
    180_000,
    `the removal of ${leaving.id} to be committed`,
  );
  decommissioned.catch(() => undefined); // awaited after the heal; not an unhandled rejection meanwhile
  let newLeader = '';
  await waitFor(
    async () => {
      const s = await status(via.address).catch(() => undefined);
      newLeader = s?.leaderId ?? '';
      return s !== undefined && newLeader !== '' && newLeader !== leader && s.members.some((m) => m.id === leaving.id && m.status === 'leaving');
    },
    // If the join commits first, the decommission is refused (one transition at a time) until the join
    // finishes: n6 streams its partitions, trying the isolated old leader as a source until gossip calls
    // it dead, and the transition settles before it ends. On a busy 2-core box that can approach a minute.
    120_000,
    `the majority side to elect a leader and commit ${leaving.id} as leaving`,
  );
  history.fault(`${leaving.id} leaving (committed by ${newLeader})`);
  t.comment(`${newLeader} leads the majority side; ${leaving.id} is leaving`);
  const newRing = cluster.members.filter((n) => n !== leaving).map((n) => n.id);

  cluster.heal();
  history.fault('heal');
  await decommissioned;
  // A removed node no longer follows the cluster's log: stop it, as an operator would.
  await cluster.retire(leaving.id);
  history.fault(`${leaving.id} removed and stopped`);
  await cluster.waitRing(newRing, 120_000);
  t.comment(`ring of ${newRing.join(',')} committed everywhere`);
  stop = true;
  await writing;

  const { verdict, convergedMs, merkle } = await judgeUniqueWrites(cluster, CLUSTER_ID, history);
  const summary = { leader, newLeader, joined: joiner.id, decommissioned: leaving.id, convergedMs, merkle };
  t.comment(JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20), neverRead: verdict.neverRead.slice(0, 20), ...summary }));
  writeReport('membership-churn', SEED, history, { ...summary, ...verdict });

  t.ok(verdict.acknowledged >= verdict.attempted / 4, `the cluster kept taking writes: ${verdict.acknowledged} of ${verdict.attempted} acknowledged`);
  t.same(verdict.lost, [], 'no acknowledged write is lost');
  t.same(verdict.neverRead, [], 'every acknowledged key could be read back at R=ALL');
  t.equal(verdict.missingCopies, 0, `every owner under the new ring holds its copy (${convergedMs} ms)`);
  t.ok(merkle.equal, `every partition's Merkle root is equal on its owners (${merkle.ms} ms, ${merkle.epochs} epochs)`);
});
