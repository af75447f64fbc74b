/**
 * Scenario 1 of the fault harness: unique-key writes (each key written once, W=2) by several clients
 * while the nemesis kills, pauses and partitions nodes of a 5-node cluster (N=3, R=W=2). After the
 * faults are healed, every key is read at R=ALL through every node, and each owner's own copy is read
 * until anti-entropy and hints have given every owner its copy; then every partition's Merkle root must
 * become equal on its owners (scenario 5, convergence). The guarantee checked: no acknowledged write is
 * lost (README, "Guarantees" 1).
 *
 * FAULTS_SECONDS (default 20) sets how long faults run, FAULTS_SEED the schedule (default: from the
 * clock, printed), FAULTS_REPORT_DIR where the history and verdict are written (`npm run test:faults`).
 */
import t from 'tap';
import { Client } from '../../client/index.js';
import { FaultCluster } from './fault-cluster.js';
import { History, writeReport } from './history.js';
import { runNemesis, seeded } from './nemesis.js';
import { judgeUniqueWrites, writeUniqueKeys } from './unique-writes-workload.js';

const SECONDS = Number(process.env.FAULTS_SECONDS ?? 20);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const WRITERS = 4;
const CLUSTER_ID = 'faults-unique';

t.test(`unique-key writes under kill, pause and partitions (${SECONDS} s, seed ${SEED}): nothing acknowledged is lost`, async (t) => {
  t.comment(`seed ${SEED} (FAULTS_SEED=${SEED} repeats this schedule)`);
  const cluster = await FaultCluster.start(t, { nodes: 5, clusterId: CLUSTER_ID });
  const history = new History();
  const client = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 2000, connectTimeoutMs: 1000 });
  t.teardown(() => client.close());

  const endAt = Date.now() + SECONDS * 1000;
  const over = () => Date.now() >= endAt;
  const [faults] = await Promise.all([runNemesis(cluster, history, seeded(SEED), over), writeUniqueKeys(client, history, 'k', WRITERS, over)]);
  t.comment(`faults: ${faults.join(', ')}`);

  history.fault('recover all');
  await cluster.recoverAll();
  await cluster.waitRing(5, 60_000);
  // Scenario 5 (convergence) is judged here too: every partition's Merkle root equal on its owners.
  const { verdict, convergedMs, merkle } = await judgeUniqueWrites(cluster, CLUSTER_ID, history);
  t.comment(JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20), neverRead: verdict.neverRead.slice(0, 20), convergedMs, merkle }));
  writeReport('unique-writes', SEED, history, { seconds: SECONDS, faults, convergedMs, merkle, ...verdict });

  t.same(cluster.unusedLinks(), [], 'all node-to-node traffic went through the harness\'s proxies');
  t.ok(faults.length >= 2, `the nemesis ran faults (${faults.length})`);
  t.ok(verdict.acknowledged >= verdict.attempted / 4, `the cluster kept taking writes: ${verdict.acknowledged} of ${verdict.attempted} acknowledged`);
  t.same(verdict.lost, [], 'no acknowledged write is lost');
  t.same(verdict.neverRead, [], 'every acknowledged key could be read back at R=ALL');
  t.equal(verdict.missingCopies, 0, `every owner holds its copy after heal (${convergedMs} ms)`);
  t.ok(merkle.equal, `every partition's Merkle root is equal on its owners (${merkle.partitions} partitions, ${merkle.ms} ms and ${merkle.epochs} epochs after the copies were checked)`);
});
