/**
 * Partition streaming with real processes (cluster/STREAMING.md): a 3-node cluster loaded with a few
 * thousand keys; a 4th node joins under a write + read load, then a node is decommissioned under the same
 * load. Checked: every acknowledged write is readable at R=2 at the end, no read at R=2 failed at any time,
 * each remaining node holds the keys of exactly the partitions the final ring gives it (counted through
 * StreamPartition, method 75: at least 99% of the acknowledged keys of its partitions — W=2 < N=3 lets an
 * owner miss a write the other two acknowledged — and none of any other partition once the drops ran),
 * and the decommissioned node stops cleanly.
 */
import Long from 'long';
import t from 'tap';
import { partitionOf } from '../../cluster/ring.js';
import { buildRing } from '../../cluster/ring.js';
import { RpcError, UnavailableError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { statusFromPb, type NodeStatus } from '../../tools/commands/status.js';
import { exited } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';
import { RealCluster, dec, enc, type RunningNode } from './real-cluster.js';

const CLUSTER = 'streaming';
const PRELOAD = 3000;

t.test('join a 4th node, then decommission one, under load: nothing lost, reads never fail, data where the ring says', async (t) => {
  const started = Date.now();
  const c = new RealCluster(t, { clusterId: CLUSTER });
  const [n1, n2, n3] = await c.startThree();
  const rpc = c.rpc;
  const status = async (n: RunningNode): Promise<NodeStatus> => statusFromPb(await rpc.call(n.address, Methods.Status, {}));
  const put = (n: RunningNode, key: string, value: string) => rpc.call(n.address, Methods.Put, { key: enc(key), value: enc(value), w: { count: 2 } });
  const get = (n: RunningNode, key: string) => rpc.call(n.address, Methods.Get, { key: enc(key), r: { count: 2 } });

  const acked = new Map<string, string>();
  const loadNodes = [n1, n2, n3];
  for (let i = 0; i < PRELOAD; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => put(loadNodes[(i + j) % 3]!, `pre-${i + j}`, `p${i + j}`).then(() => acked.set(`pre-${i + j}`, `p${i + j}`))));
  }
  t.equal(acked.size, PRELOAD, `${PRELOAD} keys loaded`);

  // Steady load: 2 writers, 2 readers at R=2, through the nodes in `coordinators`.
  let coordinators: RunningNode[] = [n1, n3];
  const counts = { writes: 0, writeFailures: 0, reads: 0, readFailures: 0, staleReads: 0 };
  const failures: string[] = [];
  let stopping = false;
  let turn = 0;
  const pick = (): RunningNode => coordinators[turn++ % coordinators.length]!;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      const key = `live-${w}-${i}`;
      try {
        await put(pick(), key, `v${i}`);
        acked.set(key, `v${i}`);
        counts.writes++;
      } catch (err) {
        counts.writeFailures++;
        if (failures.length < 10) failures.push(`put ${key}: ${String(err)}`);
      }
    }
  };
  const keys = [...acked.keys()];
  const reader = async (r: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      const key = keys[(i * 7919 + r * 104_729) % keys.length]!;
      try {
        const res = await get(pick(), key);
        counts.reads++;
        if (dec(res.value ?? new Uint8Array(0)) !== acked.get(key)) counts.staleReads++;
      } catch (err) {
        counts.readFailures++;
        if (failures.length < 10) failures.push(`get ${key}: ${String(err)}`);
      }
    }
  };
  const loops = [writer(0), writer(1), reader(0), reader(1)];

  /** Each node holds the keys of the partitions `nodes`' ring gives it (≥ 99% of the acknowledged ones), and none of any other once its drops ran. */
  const checkPlacement = async (nodes: RunningNode[], exact: boolean): Promise<void> => {
    const s = await status(n1);
    const ring = buildRing(nodes.map((n) => ({ id: n.id })), { partitions: s.config.partitions, replicas: s.config.replicas });
    const snapshot = [...acked.keys()];
    const perPartition = new Map<number, number>();
    for (const k of snapshot) perPartition.set(partitionOf(k, s.config.partitions), (perPartition.get(partitionOf(k, s.config.partitions)) ?? 0) + 1);
    const held = async (n: RunningNode): Promise<Map<number, number>> => {
      const out = new Map<number, number>();
      for (let p = 0; p < s.config.partitions; p++) {
        let resume: { epoch: Long; key: Uint8Array } | undefined;
        for (;;) {
          const res = await rpc.call(n.address, Methods.StreamPartition, { from: { clusterId: CLUSTER, nodeId: 'test' }, partition: p, ...(resume ? { resume } : {}), maxBytes: 1 << 20 });
          if (res.records.length > 0) out.set(p, (out.get(p) ?? 0) + res.records.length);
          if (res.done || !res.resume) break;
          resume = { epoch: Long.fromValue(res.resume.epoch ?? 0), key: res.resume.key ?? new Uint8Array(0) };
        }
      }
      return out;
    };
    for (const n of nodes) {
      const owned = new Set(ring.partitionsOf(n.id));
      let have = new Map<number, number>();
      await waitFor(
        async () => {
          have = await held(n);
          return [...have.keys()].every((p) => owned.has(p));
        },
        20_000,
        `${n.id} to drop the partitions it no longer owns`,
      );
      const expected = [...owned].reduce((a, p) => a + (perPartition.get(p) ?? 0), 0);
      const count = [...owned].reduce((a, p) => a + (have.get(p) ?? 0), 0);
      const ok = count >= expected * 0.99 && (!exact || count <= expected * 1.01 + 20);
      t.ok(ok, `${n.id}: ${count} keys in its ${owned.size} of ${s.config.partitions} partitions, ${expected} acknowledged there; none elsewhere`);
    }
  };

  // Join: n4 is added joining, streams its partitions, and becomes active.
  const n4 = await c.start('n4', '127.0.0.1:0', [n1.address, n3.address]);
  const statusIn = async (n: RunningNode, id: string): Promise<string | undefined> => (await status(n).catch(() => undefined))?.members.find((m) => m.id === id)?.status;
  await waitFor(async () => (await statusIn(n1, 'n4')) === 'joining' || (await statusIn(n1, 'n4')) === 'active', 20_000, 'n4 to be added');
  await waitFor(async () => (await Promise.all([n1, n2, n3, n4].map((n) => statusIn(n, 'n4')))).every((s) => s === 'active'), 30_000, 'n4 to become active everywhere');
  t.match(logText(n4.output()), /streaming: partition \d+ from n\d(,n\d)*: \d+ keys, \d+ bytes, \d+ ms/, 'n4 logs each partition it streamed');
  t.match(logText(n4.output()), /streaming: transition \d+: \d+ of \d+ partitions streamed .* stream-done committed/, 'and the summary');
  const joinedAt = Date.now();
  coordinators = [n1, n3, n4];
  await checkPlacement([n1, n2, n3, n4], false);
  const writesBefore = counts.writes;
  await waitFor(() => counts.writes > writesBefore + 100, 20_000, 'writes after the join');

  // Decommission n2 through n3 (forwarded to the leader); retried while the leader asks to (still streaming).
  let decommissioned = false;
  const until = Date.now() + 30_000;
  while (!decommissioned) {
    try {
      await rpc.call(n3.address, Methods.Decommission, { nodeId: 'n2' }, { timeoutMs: 15_000 });
      decommissioned = true;
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  t.equal(await statusIn(n1, 'n2'), 'removed', 'the decommission answers once n2 is removed');
  const leftAt = Date.now();
  const writesAfter = counts.writes;
  await waitFor(() => counts.writes > writesAfter + 100, 20_000, 'writes after the leave');
  stopping = true;
  await Promise.all(loops);
  t.comment(`load: ${counts.writes} writes (${counts.writeFailures} failed), ${counts.reads} reads at R=2 (${counts.readFailures} failed, ${counts.staleReads} stale); join done ${joinedAt - started} ms after start, leave ${leftAt - joinedAt} ms after that`);
  t.same(failures, [], 'no request failed');
  t.equal(counts.readFailures, 0, 'no read at R=2 failed during the join or the leave');
  t.equal(counts.staleReads, 0, 'no read missed an acknowledged write');

  // Every acknowledged write is readable at R=2.
  const unreadable: string[] = [];
  const all = [...acked];
  for (let i = 0; i < all.length; i += 200) {
    await Promise.all(
      all.slice(i, i + 200).map(async ([key, value]) => {
        const res = await get(n4, key).catch((err: unknown) => ({ value: enc(`error ${err instanceof RpcError ? err.code : String(err)}`) }));
        if (dec(res.value ?? new Uint8Array(0)) !== value) unreadable.push(key);
      }),
    );
  }
  t.same(unreadable.slice(0, 10), [], `all ${acked.size} acknowledged writes readable at R=2 (${unreadable.length} not)`);

  t.same((await status(n1)).ringMembers, ['n1', 'n3', 'n4'], 'the final ring');
  await checkPlacement([n1, n3, n4], true);

  n2.child.kill('SIGTERM');
  t.equal(await exited(n2.child), 0, 'the decommissioned node stops cleanly');
  t.comment(`total ${Date.now() - started} ms`);
});
