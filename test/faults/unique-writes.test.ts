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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Client } from '../../client/index.js';
import { FaultCluster } from './fault-cluster.js';
import { merkleConvergence, ownerCopies, readEverywhere } from './final-reads.js';
import { History, errorText, writeOutcome } from './history.js';
import { runNemesis, seeded } from './nemesis.js';
import { checkUniqueWrites } from './unique-writes-checker.js';

const SECONDS = Number(process.env.FAULTS_SECONDS ?? 20);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const WRITERS = 4;
/** Pause between one writer's writes: bounds the keys to check (about 4 × 25 per second). */
const WRITE_GAP_MS = 40;
const CLUSTER_ID = 'faults-unique';

t.test(`unique-key writes under kill, pause and partitions (${SECONDS} s, seed ${SEED}): nothing acknowledged is lost`, async (t) => {
  t.comment(`seed ${SEED} (FAULTS_SEED=${SEED} repeats this schedule)`);
  const cluster = await FaultCluster.start(t, { nodes: 5, clusterId: CLUSTER_ID });
  const history = new History();
  const client = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 2000, connectTimeoutMs: 1000 });
  t.teardown(() => client.close());

  const endAt = Date.now() + SECONDS * 1000;
  const over = () => Date.now() >= endAt;
  const writer = async (p: number): Promise<void> => {
    for (let i = 0; !over(); i++) {
      const key = `k-${p}-${i}`;
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
  const [faults] = await Promise.all([runNemesis(cluster, history, seeded(SEED), over), ...Array.from({ length: WRITERS }, (_, p) => writer(p))]);
  t.comment(`faults: ${faults.join(', ')}`);

  history.fault('recover all');
  await cluster.recoverAll();
  await cluster.waitRing(5, 60_000);
  const keys = [...new Set(history.ops.filter((o) => o.f === 'write').map((o) => o.key))];

  const reads = await readEverywhere(cluster, keys);
  // Each owner's own copy, until every owner has every key that a final read found.
  const present = keys.filter((k) => reads.get(k)!.some((r) => typeof r.value === 'string'));
  const { copies, convergedMs } = await ownerCopies(cluster, CLUSTER_ID, present, (key, c) => c !== undefined && !c.tombstone && c.value === `v-${key}`);

  // Scenario 5 (convergence): after heal, every partition's replicas end with equal Merkle roots.
  const merkle = await merkleConvergence(cluster, CLUSTER_ID);

  const verdict = checkUniqueWrites(history.ops, reads, copies);
  t.comment(JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20), neverRead: verdict.neverRead.slice(0, 20), convergedMs, merkle }));
  const reportDir = process.env.FAULTS_REPORT_DIR;
  if (reportDir !== undefined && reportDir !== '') {
    mkdirSync(reportDir, { recursive: true });
    const base = join(reportDir, `unique-writes-seed-${SEED}`); // run.ts reads <scenario>-seed-<seed>.verdict.json
    history.write(`${base}.history.jsonl`);
    writeFileSync(`${base}.verdict.json`, JSON.stringify({ scenario: 'unique-writes', seed: SEED, seconds: SECONDS, faults, convergedMs, merkle, ...verdict }, null, 2));
  }

  t.same(cluster.unusedLinks(), [], 'all node-to-node traffic went through the harness\'s proxies');
  t.ok(faults.length >= 2, `the nemesis ran faults (${faults.length})`);
  t.ok(verdict.acknowledged >= verdict.attempted / 4, `the cluster kept taking writes: ${verdict.acknowledged} of ${verdict.attempted} acknowledged`);
  t.same(verdict.lost, [], 'no acknowledged write is lost');
  t.same(verdict.neverRead, [], 'every acknowledged key could be read back at R=ALL');
  t.equal(verdict.missingCopies, 0, `every owner holds its copy after heal (${convergedMs} ms)`);
  t.ok(merkle.equal, `every partition's Merkle root is equal on its owners (${merkle.partitions} partitions, ${merkle.ms} ms and ${merkle.epochs} epochs after the copies were checked)`);
});
