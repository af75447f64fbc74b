/**
 * Read repair over real processes (issue 7, Tests): a node that missed writes (killed during them)
 * returns the new values with R=1 after one R=3 read of those keys.
 *
 * Every node runs with `--hint-replay-interval 3600000`, so hinted handoff cannot deliver anything during
 * the test, and with `--epoch-interval 3600000`, so anti-entropy (which compares the epochs that have
 * ended) has nothing to do: what reaches the restarted node can only come from read repair. To show that, half of the
 * keys written while n3 was down (the control keys) are never read at ALL, and must still be stale on n3
 * at the end. Each replica's version is read with ReplicaRead, which neither coordinates nor repairs.
 */
import t from 'tap';
import { Methods } from '../../rpc/methods.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { killAndWait } from '../support/processes.js';
import { RealCluster, dec, enc, formatVersion, sameVersion } from './real-cluster.js';

const K = 50;
const Level = mydatastore.client.Level;

t.test('read repair: one R=ALL read brings a node that missed K writes up to date', async (t) => {
  const cluster = new RealCluster(t, { clusterId: 'real-read-repair', extraArgs: ['--hint-replay-interval', '3600000', '--epoch-interval', '3600000'] });
  const rpc = cluster.rpc;
  const [n1, n2, n3] = await cluster.startThree();
  const repaired = Array.from({ length: K }, (_, i) => `rr-${i}`);
  const control = Array.from({ length: K }, (_, i) => `ctl-${i}`);
  const all = [...repaired, ...control];

  // Every replica holds an old version of every key (W=ALL), so "stale" below means "old", not "missing".
  const oldAcks: number[] = [];
  for (const k of all) oldAcks.push((await rpc.call(n1.address, Methods.Put, { key: enc(k), value: enc(`old ${k}`), w: { named: Level.ALL } })).acks);
  t.ok(oldAcks.every((a) => a === 3), 'every old version was acknowledged by all 3 replicas');

  await killAndWait(n3.child, 'SIGKILL');
  let t0 = Date.now();
  const newAcks = await Promise.all(
    all.map(async (k, i) => {
      const via = i % 2 === 0 ? n1 : n2;
      return (await rpc.call(via.address, Methods.Put, { key: enc(k), value: enc(`new ${k}`), w: { count: 2 } })).acks;
    }),
  );
  t.ok(newAcks.every((a) => a === 2), 'with n3 killed, every new version was acknowledged by exactly 2 replicas');
  t.pass(`${all.length} new versions written at W=2 through n1 and n2 while n3 was down (${Date.now() - t0} ms)`);

  t0 = Date.now();
  const n3b = await cluster.start('n3', n3.address, [n1.address, n2.address]);
  await cluster.waitRingOf3([n1, n2, n3b]);
  await cluster.waitGossip([n1, n2, n3b], 'n3', true);
  await cluster.waitGossip([n3b], 'n1', true);
  await cluster.waitGossip([n3b], 'n2', true);
  t.pass(`n3 restarted on its port and data, in every gossip view as alive ${Date.now() - t0} ms later`);

  const onN3 = await Promise.all(all.map((k) => cluster.storedValue(n3b, k)));
  t.same(
    all.filter((k, i) => onN3[i] !== `old ${k}`),
    [],
    `before any read, n3's replica still holds the old version of all ${all.length} keys (no hint replayed)`,
  );

  // One R=ALL read of each repaired key, with blocking read repair: it answers after n3 was sent the newest version.
  t0 = Date.now();
  const reads = await Promise.all(
    repaired.map((k, i) => rpc.call((i % 2 === 0 ? n1 : n2).address, Methods.Get, { key: enc(k), r: { named: Level.ALL }, blockingReadRepair: true })),
  );
  t.same(
    reads.map((r) => dec(r.value)),
    repaired.map((k) => `new ${k}`),
    `the ${K} R=ALL reads return the new values (${Date.now() - t0} ms with blocking repair)`,
  );

  const [v1, v3] = await Promise.all([Promise.all(repaired.map((k) => cluster.stored(n1, k))), Promise.all(repaired.map((k) => cluster.stored(n3b, k)))]);
  const notRepaired = repaired.filter((_, i) => !sameVersion(v1[i], v3[i]) || v3[i]?.value !== `new ${repaired[i]}`);
  t.same(
    notRepaired.map((k, i) => `${k}: n1 ${formatVersion(v1[i])}, n3 ${formatVersion(v3[i])}`),
    [],
    `n3's replica now holds the new value of all ${K} keys read at ALL, with the same HLC timestamp as n1's`,
  );

  const r1 = await Promise.all(repaired.map((k) => rpc.call(n3b.address, Methods.Get, { key: enc(k), r: { named: Level.ONE } })));
  t.same(
    r1.map((r) => dec(r.value)),
    repaired.map((k) => `new ${k}`),
    `an R=ONE get through n3's own coordinator returns the new value of all ${K} keys`,
  );

  const controlOnN3 = await Promise.all(control.map((k) => cluster.storedValue(n3b, k)));
  t.same(
    control.filter((k, i) => controlOnN3[i] !== `old ${k}`),
    [],
    `the ${K} control keys, never read at ALL, are still old on n3: the new values came from read repair, not hinted handoff`,
  );

  // The nodes' own counters say the same: K repairs, and every hint for n3 still pending (none replayed).
  const sum = async (name: string): Promise<number> => (await Promise.all([n1, n2, n3b].map((n) => cluster.metric(n, name)))).reduce((a, b) => a + b, 0);
  t.equal(await sum('mydatastore_read_repairs_total'), K, `the coordinators counted ${K} read repairs`);
  t.equal(await sum('mydatastore_hints_pending'), all.length, `the ${all.length} hints kept for n3 while it was down are all still pending`);
  t.equal(await sum('mydatastore_hints_replayed_total'), 0, 'and none was replayed');
});
