/**
 * Token-aware routing against three real `mydatastore server` processes (N=3, R=2, W=2). The client is
 * given n1 only as a seed; it learns the ring from Status, and each put must reach the key's primary
 * (computed here from the nodes' Status with cluster/ring.ts), each get one of its replicas — counted
 * with the client's per-address stats(). With the primary of some keys killed, their puts and gets still
 * succeed, on the key's next replica.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Client } from '../../client/index.js';
import { buildRing, type Ring } from '../../cluster/ring.js';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { killAndWait, startNode, type Started } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const cli = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const FAST = ['--cluster-id', 'real-routing', '--probe-interval-ms', '200', '--push-pull-interval-ms', '1000', '--leave-timeout-ms', '500', '--raft-tick', '50', '--epoch-interval', '500'];

interface RunningNode extends Started {
  id: string;
  address: string;
}

t.test('3 real nodes: a token-aware client sends each put to its key\'s primary and each get to a replica', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-routing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nodes: RunningNode[] = [];
  t.teardown(() => {
    if (!t.passing()) for (const n of nodes) process.stderr.write(`---- ${n.id} (${n.address}) ----\n${n.output()}\n`);
  });
  for (const id of ['n1', 'n2', 'n3']) {
    const args = ['server', '--node-id', id, '--listen', '127.0.0.1:0', '--data', join(dir, id), ...FAST];
    if (nodes.length === 0) args.push('--bootstrap');
    else args.push('--seeds', nodes.map((n) => n.address).join(','));
    const s = await startNode(t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
    nodes.push({ ...s, id, address: `127.0.0.1:${s.match}` });
  }
  const [n1, , n3] = nodes as [RunningNode, RunningNode, RunningNode];

  // Every node applied the ring of 3 (the leader commits a member before that member has applied it).
  const rpc = new RpcClient({ connectTimeoutMs: 1000 });
  t.teardown(() => rpc.destroy());
  const ringEverywhere = async (): Promise<boolean> => {
    try {
      const ss = await Promise.all(nodes.map((n) => rpc.call(n.address, Methods.Status, {}, { timeoutMs: 2000 })));
      return ss.every((s) => s.ringMembers.length === 3);
    } catch {
      return false;
    }
  };
  await waitFor(ringEverywhere, 30_000, 'every node to apply the ring of 3');

  // seedDownMs: a failed node is skipped for 60 s, long enough that the test never races its retry.
  const db = new Client({ seeds: [n1.address], ringRefreshMs: 200, connectTimeoutMs: 1000, seedDownMs: 60_000 });
  t.teardown(() => db.close());
  const t0 = Date.now();
  await waitFor(() => db.stats().ring?.members.length === 3, 30_000, 'the client to learn a ring of 3');
  t.pass(`the client routes by a ring of 3 after ${Date.now() - t0} ms`);

  // The ring as this test computes it, from n1's Status, independently of client/routing.ts.
  const st = await rpc.call(n1.address, Methods.Status, {}, { timeoutMs: 5000 });
  const ring: Ring = buildRing(st.ringMembers.map((id) => ({ id })), { partitions: st.config!.partitions!, replicas: st.config!.replicas! });
  const addressOf = new Map(st.members.map((m) => [m.nodeId!, m.address!]));
  const replicas = (key: string): string[] => ring.nodesFor(Buffer.from(key)).map((id) => addressOf.get(id)!);

  /** Runs `op` and returns the addresses whose request count grew. */
  const landed = async (op: () => Promise<unknown>): Promise<string[]> => {
    const before = db.stats().requests;
    await op();
    const after = db.stats().requests;
    return Object.keys(after).filter((a) => (after[a] ?? 0) > (before[a] ?? 0));
  };

  const keys = Array.from({ length: 60 }, (_, i) => `route-${i}`);
  const putMiss: string[] = [];
  const getMiss: string[] = [];
  for (const k of keys) {
    const to = await landed(() => db.put(k, `v-${k}`));
    if (to.length !== 1 || to[0] !== replicas(k)[0]) putMiss.push(`${k} → ${to.join(',')}`);
  }
  for (const k of keys) {
    let value: Buffer | undefined;
    const to = await landed(async () => (value = await db.get(k)));
    if (value?.toString() !== `v-${k}` || to.length !== 1 || !replicas(k).includes(to[0]!)) getMiss.push(`${k} → ${to.join(',')} ${String(value)}`);
  }
  t.same(putMiss, [], 'all 60 puts went to their key\'s primary, in one attempt');
  t.same(getMiss, [], 'all 60 gets went to a replica and read the value back');
  const perNode = nodes.map((n) => db.stats().requests[n.address] ?? 0);
  t.ok(perNode.every((c) => c > 0), `every node coordinated requests although only n1 is a seed: ${perNode.join(', ')}`);

  // n3 killed. Reads of its keys fail over at once (a read is retried whatever the failure), and the first
  // failure marks n3 down. Writes then go to each key's next replica (W=2 still holds). A write sent to n3
  // in the moment before the client saw its connection close could fail with ConnectionError sent=true:
  // it may have been applied, so it is rightly not retried; the reads first keep the test off that race.
  const ofN3 = keys.filter((k) => replicas(k)[0] === n3.address).slice(0, 10);
  t.ok(ofN3.length >= 5, `${ofN3.length} of the keys have n3 as primary`);
  await killAndWait(n3.child, 'SIGKILL');
  const readBack: (Buffer | undefined)[] = [];
  for (const k of ofN3) readBack.push(await db.get(k)); // one at a time: only the first to reach n3 fails
  t.same(readBack.map(String), ofN3.map((k) => `v-${k}`), 'with n3 killed, R=2 gets of its keys succeed on the other replicas');
  const failover: string[] = [];
  for (const k of ofN3) {
    const to = await landed(() => db.put(k, `after-${k}`));
    if (to.length !== 1 || to[0] !== replicas(k)[1]) failover.push(`${k} → ${to.join(',')}`);
  }
  t.same(failover, [], 'each put of n3\'s keys went straight to the key\'s second replica');
  const values = await Promise.all(ofN3.map((k) => db.get(k)));
  t.same(values.map(String), ofN3.map((k) => `after-${k}`), 'and R=2 gets read them back');
  t.ok((db.stats().requests[n3.address] ?? 0) <= perNode[2]! + 1, 'the killed node was tried at most once more, then skipped');
});
