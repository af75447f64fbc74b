/**
 * Last-write-wins convergence over real processes (issue 7, Tests): two writers, one bound to n1's
 * coordinator and one to n2's, write the same keys concurrently with different values for many rounds
 * (in lockstep: in each round both write every key at once).
 * Afterwards, without any client read, every replica must hold the same version (value and full HLC
 * timestamp) of every key, and that version must be the acknowledged write with the greatest timestamp.
 *
 * What the client sees of a write's timestamp: PutResponse.timestamp carries only the HLC's physical
 * milliseconds (cluster/coordinator-api.ts drops the logical counter and node id). So the winner is
 * checked as far as that allows: its value is an acknowledged write whose coordinator is the record's HLC
 * node and whose physical ms is the record's; no acknowledged write of the key has a later physical ms;
 * and when a single write holds that greatest ms, it is the winner. Keys whose greatest ms was shared by
 * both writers (decided by logical counter and node id, which the client cannot see) are counted.
 */
import t from 'tap';
import { Methods } from '../../rpc/methods.js';
import { mydatastore } from '../../proto/gen/messages.js';
import { waitFor } from '../support/wait.js';
import { RealCluster, dec, enc, formatVersion, sameVersion, type RunningNode, type StoredVersion } from './real-cluster.js';

const KEYS = 20;
const ROUNDS = 40;
const Level = mydatastore.client.Level;

interface AckedWrite {
  value: string;
  coordinator: string;
  physicalMs: number;
}

t.test('LWW: concurrent writes of the same keys through two coordinators converge on every replica', async (t) => {
  const cluster = new RealCluster(t, { clusterId: 'real-lww' });
  const rpc = cluster.rpc;
  const nodes = await cluster.startThree();
  const [n1, n2, n3] = nodes;
  const keys = Array.from({ length: KEYS }, (_, i) => `lww-${i}`);
  const acked = new Map<string, AckedWrite[]>(keys.map((k) => [k, []]));
  const failures: string[] = [];

  // In each round both writers write every key at the same moment (each writer's writes of one key stay
  // sequential), so the two versions of a key race to the replicas and often share a millisecond.
  // W=ONE: a write is acknowledged early and still travels to the other replicas, so they disagree for longer.
  const write = async (name: string, via: RunningNode, k: string, round: number): Promise<void> => {
    const value = `${name}-${round}`;
    try {
      const res = await rpc.call(via.address, Methods.Put, { key: enc(k), value: enc(value), w: { named: Level.ONE } });
      acked.get(k)!.push({ value, coordinator: via.id, physicalMs: res.timestamp.toNumber() });
    } catch (err) {
      failures.push(`${k} ${value}: ${String(err)}`);
    }
  };
  let t0 = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(keys.flatMap((k) => [write('a', n1, k, round), write('b', n2, k, round)]));
  }
  const writeMs = Date.now() - t0;
  t.same(failures, [], `all ${2 * KEYS * ROUNDS} writes acknowledged (${writeMs} ms)`);

  // Convergence without any read: every write went to all 3 replicas, and each keeps the newest.
  const versions = async (k: string): Promise<(StoredVersion | undefined)[]> => Promise.all(nodes.map((n) => cluster.stored(n, k)));
  t0 = Date.now();
  let last: (StoredVersion | undefined)[][] = [];
  await waitFor(
    async () => {
      last = await Promise.all(keys.map(versions));
      return last.every(([a, b, c]) => a !== undefined && sameVersion(a, b) && sameVersion(a, c));
    },
    20_000,
    'the 3 replicas to hold the same version of every key',
  ).catch((err: unknown) => {
    t.fail(String(err), { diverged: keys.map((k, i) => `${k}: ${(last[i] ?? []).map(formatVersion).join(' | ')}`) });
    throw err;
  });
  t.pass(`all 3 replicas hold the same value and HLC timestamp for all ${KEYS} keys ${Date.now() - t0} ms after the last ack, with no read`);

  const wrong: string[] = [];
  let tiedAtTop = 0;
  for (const [i, k] of keys.entries()) {
    const winner = last[i]?.[0];
    const writes = acked.get(k)!;
    const maxMs = Math.max(...writes.map((w) => w.physicalMs));
    const atMax = writes.filter((w) => w.physicalMs === maxMs);
    if (atMax.length > 1) tiedAtTop++;
    const source = writes.find((w) => w.value === winner?.value);
    if (winner === undefined || source === undefined) wrong.push(`${k}: stored ${formatVersion(winner)} is no acknowledged write`);
    else if (source.coordinator !== winner.timestamp.node || source.physicalMs !== winner.timestamp.physicalMs) {
      wrong.push(`${k}: stored ${formatVersion(winner)} but that write was acknowledged by ${source.coordinator} at ${source.physicalMs} ms`);
    } else if (winner.timestamp.physicalMs < maxMs) wrong.push(`${k}: stored ${formatVersion(winner)} though a write was acknowledged at ${maxMs} ms`);
    else if (atMax.length === 1 && atMax[0]!.value !== winner.value) wrong.push(`${k}: stored ${formatVersion(winner)}, the only write at ${maxMs} ms was ${atMax[0]!.value}`);
  }
  t.same(wrong, [], 'for every key the stored version is the acknowledged write with the greatest timestamp');
  const wonBy = (c: string): number => last.filter((v) => v[0]?.timestamp.node === c).length;
  t.comment(`winners: ${wonBy('n1')} keys written last through n1, ${wonBy('n2')} through n2`);
  t.comment(`${tiedAtTop} of ${KEYS} keys had their greatest physical ms shared by several acknowledged writes (ordered by HLC logical and node id, not visible in PutResponse)`);

  const backwards = keys.filter((k) =>
    ['n1', 'n2'].some((c) =>
      acked
        .get(k)!
        .filter((w) => w.coordinator === c)
        .some((w, j, ws) => j > 0 && w.physicalMs < ws[j - 1]!.physicalMs),
    ),
  );
  t.same(backwards, [], "each coordinator's successive timestamps for a key never go backwards");

  // A read at ALL through the third node returns the converged version.
  const reads = await Promise.all(keys.map((k) => rpc.call(n3.address, Methods.Get, { key: enc(k), r: { named: Level.ALL } })));
  t.same(
    reads.map((r) => `${dec(r.value)} ${r.timestamp.toNumber()}`),
    keys.map((_, i) => `${last[i]?.[0]?.value} ${last[i]?.[0]?.timestamp.physicalMs}`),
    'an R=ALL get through n3 returns the converged value and timestamp of every key',
  );
});
