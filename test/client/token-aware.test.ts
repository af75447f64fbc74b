/**
 * Token-aware routing over real RPC: five fake nodes sharing one store answer Status with a ring of
 * themselves (P=64, N=2, so each key has 2 of the 5 nodes). The client, given one seed, learns the ring
 * and sends every request to a replica of its key: each node's received keys are checked against the
 * ring computed here with cluster/ring.ts. A stopped replica is skipped, and without a ring (no Status,
 * or `tokenAware: false`) the client uses its seeds.
 */
import Long from 'long';
import t, { type Test } from 'tap';
import { Client, UnavailableError } from '../../client/index.js';
import { buildRing, type Ring } from '../../cluster/ring.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { waitFor } from '../support/wait.js';
import type { FakeKvServer } from './fake-kv-server.js';
import { startFakeKvServer } from './fake-kv-server.js';

const P = 64;
const N = 2;

interface FakeCluster {
  nodes: FakeKvServer[];
  ring: Ring;
  /** The addresses of a key's replicas, primary first. */
  replicas(key: string): string[];
}

async function fakeCluster(t: Test, n: number, withStatus = true): Promise<FakeCluster> {
  const data = new Map<string, Buffer>();
  const nodes: FakeKvServer[] = [];
  for (let i = 0; i < n; i++) {
    const s = await startFakeKvServer(data);
    t.teardown(() => s.stop());
    nodes.push(s);
  }
  const ids = nodes.map((_, i) => `f${i + 1}`);
  const status: mydatastore.cluster.IStatusResponse = {
    clusterId: 'fake',
    epoch: Long.fromNumber(5, true),
    created: true,
    config: { partitions: P, replicas: N, readQuorum: 1, writeQuorum: 1 },
    members: nodes.map((s, i) => ({ nodeId: ids[i], address: s.address, zone: '', status: 'active' })),
    ringMembers: ids,
  };
  if (withStatus) for (const s of nodes) s.status = status;
  const ring = buildRing(ids.map((id) => ({ id })), { partitions: P, replicas: N });
  const addressOf = new Map(ids.map((id, i) => [id, nodes[i]!.address]));
  return { nodes, ring, replicas: (key) => ring.nodesFor(Buffer.from(key)).map((id) => addressOf.get(id)!) };
}

function client(t: Test, seeds: string[], extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  const c = new Client({ seeds, random: () => 0.5, ...extra });
  t.teardown(() => c.close());
  return c;
}

/** Received keys of `method` per node address. */
function receivedBy(nodes: FakeKvServer[], method: string): Map<string, string[]> {
  const prefix = `${method}:`;
  return new Map(nodes.map((s) => [s.address, s.received.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length))]));
}

t.test('each request lands on a replica of its key: writes on the primary, reads spread over both', async (t) => {
  const fc = await fakeCluster(t, 5);
  const c = client(t, [fc.nodes[0]!.address]);
  await waitFor(() => c.stats().ring !== undefined, 10_000, 'the client to learn the ring');
  t.same(c.stats().ring, { epoch: 5, partitions: P, replicas: N, members: ['f1', 'f2', 'f3', 'f4', 'f5'] });
  const keys = Array.from({ length: 200 }, (_, i) => `user:${i}`);
  for (const k of keys) await c.put(k, `v-${k}`);
  const wrong: string[] = [];
  for (const k of keys) if ((await c.get(k))?.toString() !== `v-${k}`) wrong.push(k);
  t.same(wrong, [], 'every get reads its put back');
  for (const k of keys.slice(0, 50)) await c.del(k);

  const puts = receivedBy(fc.nodes, 'Put');
  const gets = receivedBy(fc.nodes, 'Get');
  const dels = receivedBy(fc.nodes, 'Delete');
  const offPrimary = [...puts, ...dels].flatMap(([a, ks]) => ks.filter((k) => fc.replicas(k)[0] !== a));
  t.same(offPrimary, [], 'every put and delete went to its key\'s primary');
  const offReplica = [...gets].flatMap(([a, ks]) => ks.filter((k) => !fc.replicas(k).includes(a)));
  t.same(offReplica, [], 'every get went to a replica of its key');
  const onSecond = [...gets].reduce((n, [a, ks]) => n + ks.filter((k) => fc.replicas(k)[1] === a).length, 0);
  t.ok(onSecond >= 80 && onSecond <= 120, `reads alternate between the 2 replicas (${onSecond} of 200 on the second)`);
  const perNode = fc.nodes.map((s) => (s.calls.Put ?? 0) + (s.calls.Get ?? 0) + (s.calls.Delete ?? 0));
  t.ok(perNode.every((n) => n > 0), `all 5 nodes served requests although only one is a seed: ${perNode.join(', ')}`);
  t.same(fc.nodes.map((s) => c.stats().requests[s.address] ?? 0), perNode, 'stats() counts the requests each node received');
  t.equal(c.stats().routed, 450, 'all 450 requests were routed');
  t.equal(c.stats().unrouted, 0);
});

t.test('a stopped replica is skipped: its keys go to their other replica, after one failed attempt', async (t) => {
  const fc = await fakeCluster(t, 5);
  const c = client(t, [fc.nodes[0]!.address], { seedDownMs: 60_000 });
  await waitFor(() => c.stats().ring !== undefined, 10_000, 'the client to learn the ring');
  const dead = fc.nodes[2]!;
  const keys = Array.from({ length: 400 }, (_, i) => `k${i}`).filter((k) => fc.replicas(k)[0] === dead.address).slice(0, 20);
  t.equal(keys.length, 20, '20 keys whose primary is the node to stop');
  await dead.stop();
  const refreshes = c.stats().ringRefreshes;
  for (const k of keys) await c.put(k, 'after');
  const wrong: string[] = [];
  for (const k of keys) if ((await c.get(k))?.toString() !== 'after') wrong.push(k);
  t.same(wrong, [], 'and reads find them');
  const puts = receivedBy(fc.nodes, 'Put');
  const onSecond = keys.filter((k) => puts.get(fc.replicas(k)[1]!)?.includes(k) === true);
  t.equal(onSecond.length, 20, 'every write went to its second replica (a write that never left is retried)');
  t.equal(c.stats().requests[dead.address], 1, 'only the first request tried the stopped node; the rest skipped it');
  await waitFor(() => c.stats().ringRefreshes > refreshes, 10_000, 'a ring refresh after the node failed');
  t.pass('the failure triggered a ring refresh');
});

t.test('a replica that has no committed ring yet is skipped like a dead one, and writes move on', async (t) => {
  const fc = await fakeCluster(t, 5);
  const c = client(t, [fc.nodes[0]!.address]);
  await waitFor(() => c.stats().ring !== undefined, 10_000, 'the client to learn the ring');
  const unready = fc.nodes[3]!;
  unready.failWith = new UnavailableError('node f4 has no committed ring yet: it cannot serve data until it is a member of a committed cluster');
  const keys = Array.from({ length: 400 }, (_, i) => `k${i}`).filter((k) => fc.replicas(k)[0] === unready.address).slice(0, 10);
  for (const k of keys) await c.put(k, 'v');
  const puts = receivedBy(fc.nodes, 'Put');
  t.same(keys.filter((k) => puts.get(fc.replicas(k)[1]!)?.includes(k) !== true), [], 'each write was carried out by the key\'s second replica');
  t.equal(unready.calls.Put, 1, 'the unready node was asked once, then skipped');
});

t.test('without a ring the client uses its seeds: nodes that cannot tell their ring, and tokenAware off', async (t) => {
  const fc = await fakeCluster(t, 3, false);
  const seeds = fc.nodes.slice(0, 2).map((s) => s.address);
  const c = client(t, seeds);
  await waitFor(() => c.stats().ringRefreshFailures > 0, 10_000, 'the ring refresh to give up on both seeds');
  for (let i = 0; i < 20; i++) await c.put(`k${i}`, 'v');
  t.same(fc.nodes.map((s) => s.calls.Put ?? 0), [10, 10, 0], 'round-robin over the 2 seeds, never the third node');
  t.equal(c.stats().ring, undefined);
  t.equal(c.stats().unrouted, 20);
  t.match(c.stats(), { routed: 0, ringRefreshes: 0 });

  const ring = await fakeCluster(t, 3);
  const off = client(t, [ring.nodes[0]!.address], { tokenAware: false });
  for (let i = 0; i < 10; i++) await off.put(`k${i}`, 'v');
  t.same(ring.nodes.map((s) => s.calls.Put ?? 0), [10, 0, 0], 'tokenAware: false sends everything to the seed');
  t.equal(ring.nodes[0]!.calls.Status, undefined, 'and never asks for Status');
});

t.test('bad routing options are refused', (t) => {
  t.throws(() => new Client({ seeds: ['127.0.0.1:1'], ringRefreshMs: 0 }), { code: 'RPC_INVALID_ARGUMENT' });
  t.throws(() => new Client({ seeds: ['127.0.0.1:1'], seedDownMs: -1 }), { code: 'RPC_INVALID_ARGUMENT' });
  t.end();
});
