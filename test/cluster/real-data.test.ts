/**
 * The data path over real processes and TCP: three `mydatastore server` processes on 127.0.0.1 (N=3, R=2,
 * W=2 from the committed config), driven with an RpcClient on the client API (Get 2, Put 3, Delete 4).
 *   - a put through n1 is read back through n2; a delete through n3 makes it NOT_FOUND everywhere;
 *   - with n3 killed, W=2 puts through n1 succeed and R=2 gets through n2 see them;
 *   - with n2 killed too, a put fails with UNAVAILABLE saying 1 of the 2 required replicas acknowledged;
 *   - after n2 and n3 restart, the writes they missed reach their replica stores through hinted handoff,
 *     without any client read (checked with ReplicaRead straight to each node, which never repairs). Every
 *     node runs with `--epoch-interval 3600000`: the epoch never ends, so anti-entropy (which compares
 *     ended epochs) has nothing to do, and the test also checks it applied nothing anywhere while n1's
 *     hints-replayed counter rose by at least the number of writes missed;
 *   - SIGTERM with puts in flight: they finish or are refused as shutting down, and the node exits 0.
 * Every wait is for a condition, with a generous deadline.
 */
import t from 'tap';
import { RpcError, Status } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { exited, killAndWait } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';
import { RealCluster, dec, enc, type RunningNode } from './real-cluster.js';

/** Metric names (http/HTTP.md, cluster/antientropy/ANTIENTROPY.md). */
const HINTS_REPLAYED = 'mydatastore_hints_replayed_total';
const AE_KEYS_APPLIED = 'mydatastore_antientropy_keys_applied_total';
const AE_KEYS_APPLIED_BY_PEER = 'mydatastore_antientropy_keys_applied_by_peer_total';

t.test('3 real nodes: quorum puts and gets, one and two nodes down, hinted handoff on return', async (t) => {
  // Epochs never end here, so the missed writes can only arrive through hints (see the header).
  const cluster = new RealCluster(t, { clusterId: 'real-data', extraArgs: ['--epoch-interval', '3600000'] });
  const client = cluster.rpc;
  const start = (id: string, listen: string, seeds: string[]) => cluster.start(id, listen, seeds);

  const put = (n: RunningNode, key: string, value: string, w?: number) =>
    client.call(n.address, Methods.Put, { key: enc(key), value: enc(value), ...(w === undefined ? {} : { w: { count: w } }) });
  const get = (n: RunningNode, key: string, r?: number) => client.call(n.address, Methods.Get, { key: enc(key), ...(r === undefined ? {} : { r: { count: r } }) });
  /** The version in n's own replica store (ReplicaRead: no quorum, no read repair). */
  const stored = (n: RunningNode, key: string): Promise<string | undefined> => cluster.storedValue(n, key);

  const n1 = await start('n1', '127.0.0.1:0', []);
  const n2 = await start('n2', '127.0.0.1:0', [n1.address]);
  const n3 = await start('n3', '127.0.0.1:0', [n1.address, n2.address]);
  const nodes = [n1, n2, n3];
  let t0 = Date.now();
  await cluster.waitRingOf3(nodes);
  t.pass(`ring of 3 committed everywhere after ${Date.now() - t0} ms`);

  // Every node up: a write through one node is read through another.
  const first = await put(n1, 'greeting', 'hello');
  t.equal(first.acks >= 2, true, `put through n1 acknowledged by ${first.acks} replicas (W=2)`);
  const read = await get(n2, 'greeting');
  t.equal(read.status, Status.OK, 'get through n2 finds it');
  t.equal(dec(read.value), 'hello', 'with the value written through n1');
  t.ok(read.timestamp.toNumber() > 0, 'and its version timestamp');
  await waitFor(async () => (await Promise.all(nodes.map((n) => stored(n, 'greeting')))).every((v) => v === 'hello'), 10_000, 'all 3 replicas to store it');
  t.pass('all 3 replicas store the value');
  await client.call(n3.address, Methods.Delete, { key: enc('greeting') });
  t.equal((await get(n1, 'greeting')).status, Status.NOT_FOUND, 'after a delete through n3, a get through n1 is NOT_FOUND');
  t.equal((await get(n2, 'never-written')).status, Status.NOT_FOUND, 'a key never written is NOT_FOUND, not an error');

  // One node down: W=2 and R=2 still work.
  await killAndWait(n3.child, 'SIGKILL');
  const oneDown: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await put(n1, `one-down-${i}`, `v${i}`, 2);
    t.ok(res.acks >= 2, `put one-down-${i} with n3 killed: ${res.acks} acks`);
    oneDown.push(`one-down-${i}`);
  }
  const reads = await Promise.all(oneDown.map((k) => get(n2, k, 2)));
  t.ok(
    reads.every((r, i) => r.status === Status.OK && dec(r.value) === `v${i}`),
    'R=2 gets through n2 see all 20 W=2 puts made while n3 was down',
  );

  // Two nodes down: a W=2 put cannot reach its quorum.
  await killAndWait(n2.child, 'SIGKILL');
  t0 = Date.now();
  const failure = await put(n1, 'two-down', 'stored on n1 only', 2).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(failure instanceof RpcError, 'a W=2 put with two nodes killed fails');
  const e = failure as RpcError;
  t.equal(e.status, Status.UNAVAILABLE, 'with UNAVAILABLE');
  t.equal(e.required, 2, 'ErrorDetail says 2 acks were required');
  t.equal(e.acks, 1, 'and 1 arrived (n1 itself)');
  t.match(e.message, /2 of 3 replicas needed, 1 acknowledged/, `the message says so: "${e.message}"`);
  t.ok(Date.now() - t0 < 5000, `it fails fast (${Date.now() - t0} ms), not only at the deadline`);
  await waitFor(
    () => /requests: client request failed .*"op":"put","outcome":"unavailable","error":"RPC_UNAVAILABLE: .*2 of 3 replicas needed, 1 acknowledged/.test(logText(n1.output())),
    10_000,
    "n1's log to say why the put failed",
  );
  t.equal(await stored(n1, 'two-down'), 'stored on n1 only', 'n1 kept the write it coordinated');

  // Both return on their ports and data: the writes they missed arrive through hints, without any read.
  const replayedBefore = await cluster.metric(n1, HINTS_REPLAYED);
  t0 = Date.now();
  const n2b = await start('n2', n2.address, [n1.address]);
  const n3b = await start('n3', n3.address, [n1.address]);
  t.equal(n3b.address, n3.address, 'n3 restarts on its port and data directory');
  const missedBy3 = [...oneDown, 'two-down'];
  await waitFor(
    async () => {
      try {
        const [a, b] = await Promise.all([Promise.all(missedBy3.map((k) => stored(n3b, k))), stored(n2b, 'two-down')]);
        return a.every((v, i) => v === (i < oneDown.length ? `v${i}` : 'stored on n1 only')) && b === 'stored on n1 only';
      } catch {
        return false;
      }
    },
    30_000,
    'hinted writes to reach the restarted nodes',
  );
  t.pass(`n3 stores all ${missedBy3.length} writes it missed and n2 the one it missed, ${Date.now() - t0} ms after restart, with no read`);
  // n1 coordinated every missed write, so it kept (and must have replayed) one hint per missed copy. The
  // counter moves just after the owner acknowledged, hence the wait.
  const missedCopies = missedBy3.length + 1;
  let replayed = 0;
  await waitFor(
    async () => (replayed = (await cluster.metric(n1, HINTS_REPLAYED)) - replayedBefore) >= missedCopies,
    10_000,
    `${HINTS_REPLAYED} on n1 to rise by ${missedCopies}`,
  );
  t.ok(replayed >= missedCopies, `n1 replayed ${replayed} hints since the restarts (${missedCopies} copies were missed)`);
  const aeApplied = await Promise.all(
    [n1, n2b, n3b].map(async (n) => (await cluster.metric(n, AE_KEYS_APPLIED)) + (await cluster.metric(n, AE_KEYS_APPLIED_BY_PEER))),
  );
  t.same(aeApplied, [0, 0, 0], 'anti-entropy stored no record on any node: the hints delivered them');
  t.match(n1.output(), /listening on/, 'n1 served throughout');

  const r1 = await client.call(n3b.address, Methods.Get, { key: enc('two-down'), r: { named: 1 } });
  t.equal(dec(r1.value), 'stored on n1 only', 'an R=ONE get through n3 returns the hinted value');

  // SIGTERM while puts are in flight: they finish (drained) or are refused as shutting down; exit 0.
  const inFlight = Array.from({ length: 100 }, (_, i) =>
    put(n2b, `drain-${i}`, 'x').then(
      (r) => r.acks,
      (err: unknown) => err,
    ),
  );
  await Promise.race(inFlight);
  n2b.child.kill('SIGTERM');
  t.equal(await exited(n2b.child), 0, 'n2 exits 0 on SIGTERM');
  const outcomes = await Promise.all(inFlight);
  const bad = outcomes.filter((o) => typeof o !== 'number' && !(o instanceof RpcError && (o.code === 'RPC_SHUTTING_DOWN' || o.code === 'RPC_CONNECTION')));
  t.same(bad, [], `each of 100 concurrent puts completed (${outcomes.filter((o) => typeof o === 'number').length}) or was refused as shutting down / after the close; none failed otherwise`);
  t.match(n2b.output(), /SIGTERM received: draining/, 'it logged the drain');
});
