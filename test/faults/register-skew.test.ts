/**
 * Scenario 2 of the fault harness: a single-writer register per key under clock skew. Each key has one
 * writer writing 1, 2, 3, ... at W=2 through one client (which passes the newest version it has seen,
 * so a coordinator whose clock is behind still stamps the next write later); readers read random keys at
 * R=2 through another client. Meanwhile node clocks jump seconds to minutes either way, and nodes are
 * killed, paused and isolated. Checked (README, "Guarantees" 2 and 3): no read returns a value older than
 * the last write of its key acknowledged before the read began, and none returns a value never written.
 * A second, scripted test shows what the client's causality token (`after`) buys: without it a
 * coordinator whose clock is behind stamps a later write earlier, and last-write-wins drops it.
 */
import t from 'tap';
import { Client } from '../../client/index.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { WrongOwnerError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { FaultCluster } from './fault-cluster.js';
import { History, errorText, writeOutcome, writeReport } from './history.js';
import { runNemesis, seeded, type FaultKind } from './nemesis.js';
import { checkRegisters } from './register-checker.js';

const SECONDS = Number(process.env.FAULTS_SECONDS ?? 20);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const KEYS = 8;
const READERS = 4;
const GAP_MS = 30;
const Level = mydatastore.client.Level;

t.test(`single-writer registers under clock skew (${SECONDS} s, seed ${SEED}): no stale reads at R + W > N`, async (t) => {
  t.comment(`seed ${SEED} (FAULTS_SEED=${SEED} repeats this schedule)`);
  const cluster = await FaultCluster.start(t, { nodes: 5, clusterId: 'faults-register' });
  const history = new History();
  const writers = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 2000, connectTimeoutMs: 1000 });
  const readers = new Client({ seeds: cluster.addresses, defaultDeadlineMs: 2000, connectTimeoutMs: 1000 });
  t.teardown(() => Promise.all([writers.close(), readers.close()]));
  const random = seeded(SEED);
  const pick = seeded(SEED + 1);

  const endAt = Date.now() + SECONDS * 1000;
  const over = () => Date.now() >= endAt;
  const gap = () => new Promise((r) => setTimeout(r, GAP_MS));
  const writer = async (k: number): Promise<void> => {
    const key = `r-${k}`;
    for (let i = 1; !over(); i++) {
      history.invoke(k, 'write', key, String(i));
      try {
        await writers.put(key, String(i), { consistency: 'QUORUM' });
        history.complete(k, 'ok', 'write', key);
      } catch (err) {
        history.complete(k, writeOutcome(err), 'write', key, { error: errorText(err) });
      }
      await gap();
    }
  };
  const reader = async (p: number): Promise<void> => {
    while (!over()) {
      const key = `r-${Math.floor(pick() * KEYS)}`;
      history.invoke(p, 'read', key);
      try {
        const v = await readers.get(key, { consistency: 'QUORUM' });
        history.complete(p, 'ok', 'read', key, { value: v === undefined ? null : v.toString() });
      } catch (err) {
        history.complete(p, 'fail', 'read', key, { error: errorText(err) });
      }
      await gap();
    }
  };
  const kinds: FaultKind[] = ['skew', 'kill', 'skew', 'pause', 'skew', 'isolate'];
  const [faults] = await Promise.all([
    runNemesis(cluster, history, random, over, kinds, 'skew'),
    ...Array.from({ length: KEYS }, (_, k) => writer(k)),
    ...Array.from({ length: READERS }, (_, p) => reader(KEYS + p)),
  ]);
  await cluster.recoverAll();

  const verdict = checkRegisters(history.ops);
  t.comment(`faults: ${faults.join(', ')}`);
  t.comment(JSON.stringify({ ...verdict, stale: verdict.stale.slice(0, 10), phantoms: verdict.phantoms.slice(0, 10) }));
  writeReport('register-skew', SEED, history, { seconds: SECONDS, faults, ...verdict, acknowledged: verdict.writesAcknowledged, lost: verdict.stale });

  t.ok(faults.includes('skew'), 'clocks were skewed');
  t.ok(verdict.writesAcknowledged > KEYS * 5 && verdict.reads > READERS * 5, `the cluster kept working: ${verdict.writesAcknowledged} writes acknowledged, ${verdict.reads} reads answered`);
  t.same(verdict.stale, [], 'no read is older than the last write acknowledged before it began');
  t.same(verdict.phantoms, [], 'no read returns a value never written');
});

t.test('a coordinator 50 s behind orders a write after the client\'s last version only if the client says it', async (t) => {
  const clusterId = 'faults-register-after';
  const cluster = await FaultCluster.start(t, { nodes: 5, clusterId });
  const key = Buffer.from('x');
  const from = { clusterId, nodeId: 'faults-checker' };
  const owners: string[] = [];
  for (const n of cluster.nodes) {
    try {
      await cluster.rpc.call(n.address, Methods.ReplicaRead, { from, key });
      owners.push(n.id);
    } catch (err) {
      if (!(err instanceof WrongOwnerError)) throw err;
    }
  }
  // Ahead writes first; `behind` neither coordinated it nor stores the key, so its clock never saw it.
  const ahead = cluster.nodes[0]!;
  const behind = cluster.nodes.find((n) => n !== ahead && !owners.includes(n.id))!;
  await cluster.skew(ahead.id, 50_000);
  const put = (via: string, value: string, after?: mydatastore.client.IVersion | null) =>
    cluster.rpc.call(via, Methods.Put, { key, value: Buffer.from(value), w: { named: Level.ALL }, ...(after ? { after } : {}) });
  const read = async () => Buffer.from((await cluster.rpc.call(behind.address, Methods.Get, { key, r: { named: Level.ALL } })).value).toString();

  const first = await put(ahead.address, '1');
  await put(behind.address, '2'); // no causality token: stamped by its own clock, 50 s earlier
  t.equal(await read(), '1', 'without the token the later, acknowledged write loses (last-write-wins by timestamp)');
  const third = await put(ahead.address, '3');
  await put(behind.address, '4', third.version);
  t.equal(await read(), '4', 'with the client\'s last version as `after`, the write is stamped after it and wins');
  t.ok(first.version !== null, 'Put answers carry the version a client passes on');
});
