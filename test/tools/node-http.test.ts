/**
 * Every node serves the HTTP gateway (http/HTTP.md), over real processes on 127.0.0.1: one 3-node cluster
 * (N=3, R=2, W=2) started with port 0 everywhere, each node printing the HTTP address it got.
 *   - /health answers at once; /ready is 503 with a reason until the node is in a committed ring with a
 *     known leader, then 200 on every node;
 *   - bytes PUT through one node are read back through another; a missing key is 404; an empty value is a
 *     value; the original project's /set and /get answer their JSON shapes;
 *   - with one node killed, ?consistency=ALL fails fast with 503 CLUSTER_UNAVAILABLE (no hang) while the
 *     default W=2 still succeeds;
 *   - /metrics holds the data-path metrics with their TYPE lines, and their counts moved (HTTP and RPC
 *     requests, quorum failures, hints, Raft, gossip, LSM);
 *   - SIGTERM: the nodes drain, close the gateway and exit 0.
 * And two refusals before anything starts: an HTTP port in use, and R or W above N.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { cli, mydatastore } from '../support/cli.js';
import { exited, killAndWait, startNode } from '../support/processes.js';
import type { Started } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const FAST = [
  '--cluster-id', 'node-http',
  '--probe-interval-ms', '200',
  '--push-pull-interval-ms', '1000',
  '--leave-timeout-ms', '500',
  // Elections after 1-2 s: /ready is checked right after startup, well before the first leader.
  '--raft-tick', '100',
  '--epoch-interval', '1000',
];
const READY_LINE = /http gateway on http:\/\/127\.0\.0\.1:(\d+)[^\n]*\n(?:.*\n)*?.*listening on 127\.0\.0\.1:(\d+)/;

interface Node extends Started {
  id: string;
  rpc: string;
  url: string;
}

interface Answer {
  status: number;
  body: Buffer;
  text: string;
}

async function http(url: string, method = 'GET', body?: Buffer | string): Promise<Answer> {
  const res = await fetch(url, { method, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(20_000) });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body: buf, text: buf.toString('utf8') };
}

/** The value of one series in a /metrics text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('3 real nodes serve HTTP: readiness, /kv and the legacy endpoints, ALL with a node down, metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-node-http-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = new RpcClient({ connectTimeoutMs: 500, defaultTimeoutMs: 5000, backoffMaxMs: 50 });
  t.teardown(() => client.destroy());
  const started: Node[] = [];
  t.teardown(() => {
    if (t.passing()) return;
    for (const n of started) process.stderr.write(`---- ${n.id} ----\n${n.output()}\n`);
  });
  const start = async (id: string, seeds: string[]): Promise<Node> => {
    const args = ['server', '--node-id', id, '--listen', '127.0.0.1:0', '--data', join(dir, id), ...FAST];
    args.push(...(seeds.length > 0 ? ['--seeds', seeds.join(',')] : ['--bootstrap']));
    const s = await startNode(t, cli, args, READY_LINE);
    const m = READY_LINE.exec(s.output())!;
    const node = { ...s, id, url: `http://127.0.0.1:${m[1]}`, rpc: `127.0.0.1:${m[2]}` };
    started.push(node);
    return node;
  };

  const n1 = await start('n1', []);
  // Raft has not even started when the node prints its addresses: alive, not ready.
  const health = await http(`${n1.url}/health`);
  t.equal(health.status, 200, '/health answers 200 as soon as the node listens');
  const early = await http(`${n1.url}/ready`);
  t.equal(early.status, 503, '/ready is 503 before the cluster is created');
  t.match(early.text, /^not ready: .*no committed cluster yet.*no Raft leader is known/, `with the reasons: "${early.text.trim()}"`);
  const n2 = await start('n2', [n1.rpc]);
  const n2early = await http(`${n2.url}/ready`);
  t.equal(n2early.status, 503, 'a joining node is not ready before the leader commits it');
  t.match(n2early.text, /^not ready: /, `saying why: "${n2early.text.trim()}"`);
  const n3 = await start('n3', [n1.rpc, n2.rpc]);
  const nodes = [n1, n2, n3];
  const t0 = Date.now();
  await waitFor(async () => (await Promise.all(nodes.map((n) => http(`${n.url}/ready`)))).every((r) => r.status === 200), 30_000, 'all 3 nodes to be ready');
  t.pass(`all 3 nodes answer /ready 200 ${Date.now() - t0} ms after the last start`);
  // Ready says "a member of the ring", not "the ring holds all 3": wait for that before counting acks.
  const ringOf3 = async (): Promise<boolean> => {
    const ss = await Promise.all(nodes.map(async (n) => statusFromPb(await client.call(n.rpc, Methods.Status, {}))));
    return ss.every((s) => s.ringMembers.length === 3);
  };
  await waitFor(ringOf3, 30_000, 'a ring of 3 on every node');

  // Bytes in, the same bytes out through another node.
  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]);
  t.equal((await http(`${n1.url}/kv/bin%2Fkey?consistency=ALL`, 'PUT', bytes)).status, 200, 'PUT /kv/bin%2Fkey?consistency=ALL through n1');
  const got = await http(`${n2.url}/kv/bin%2Fkey`);
  t.equal(got.status, 200, 'GET through n2 finds it');
  t.same([...got.body], [...bytes], 'with the exact bytes');
  const missing = await http(`${n3.url}/kv/never-written`);
  t.equal(missing.status, 404, 'a missing key is 404');
  t.match(JSON.parse(missing.text), { error: { code: 'HTTP_KEY_NOT_FOUND' } });
  t.equal((await http(`${n2.url}/kv/empty`, 'PUT', '')).status, 200, 'PUT of an empty value');
  const empty = await http(`${n3.url}/kv/empty?consistency=QUORUM`);
  t.equal(empty.status, 200, 'an empty value is a value: 200');
  t.equal(empty.body.length, 0, 'with an empty body');
  t.equal((await http(`${n3.url}/kv/empty`, 'DELETE')).status, 200, 'DELETE');
  t.equal((await http(`${n1.url}/kv/empty?consistency=ALL`)).status, 404, 'and it is gone everywhere');

  // The original project's endpoints.
  const set = await http(`${n1.url}/set?key=city&value=Montr%C3%A9al`);
  t.equal(set.status, 200, '/set answers 200');
  t.same(JSON.parse(set.text), { Key: 'city', Value: 'Montréal', Members: [], Error: null }, '/set JSON shape');
  const legacy = await http(`${n2.url}/get?key=city`);
  t.same(JSON.parse(legacy.text), { Key: 'city', Value: 'Montréal', Failed_members: [], Error: '' }, '/get JSON shape, value written through /set');
  const legacyMissing = await http(`${n2.url}/get?key=nothing-here`);
  t.equal(legacyMissing.status, 404, '/get of a missing key is 404');
  t.match(JSON.parse(legacyMissing.text), { Key: 'nothing-here', Value: '', Error: 'the key has no value', error: { code: 'HTTP_KEY_NOT_FOUND' } });
  t.equal((await http(`${n2.url}/kv/k?consistency=4`)).status, 400, 'a consistency above N is refused with 400');

  // The RPC client API is counted too.
  await client.call(n1.rpc, Methods.Put, { key: Buffer.from('via-rpc'), value: Buffer.from('v'), w: { named: 3 } });

  // One node down: ALL cannot be met and says so at once; the default W=2 still works.
  await killAndWait(n3.child, 'SIGKILL');
  let at = Date.now();
  const all = await http(`${n1.url}/kv/after-kill?consistency=ALL`, 'PUT', 'v');
  const allMs = Date.now() - at;
  t.equal(all.status, 503, 'PUT with consistency=ALL and a node killed: 503');
  t.match(JSON.parse(all.text), { error: { code: 'CLUSTER_UNAVAILABLE', message: /3 of 3 replicas needed, 2 acknowledged/ } }, `with the acks in the message: ${all.text}`);
  t.ok(allMs < 4000, `fast (${allMs} ms), not at the 5 s deadline`);
  at = Date.now();
  const allRead = await http(`${n2.url}/kv/bin%2Fkey?consistency=ALL`);
  t.equal(allRead.status, 503, `GET with consistency=ALL: 503 too (${Date.now() - at} ms)`);
  t.equal((await http(`${n1.url}/kv/after-kill`, 'PUT', 'v2')).status, 200, 'the default W=2 still succeeds');

  // Metrics moved, under the documented names and types.
  let text = '';
  await waitFor(async () => {
    text = (await http(`${n1.url}/metrics`)).text;
    return (sample(text, 'mydatastore_hints_pending') ?? 0) >= 1;
  }, 10_000, 'n1 to report the hints it keeps for n3');
  const types: Record<string, string> = {
    mydatastore_client_requests_total: 'counter',
    mydatastore_client_request_duration_seconds: 'histogram',
    mydatastore_quorum_failures_total: 'counter',
    mydatastore_read_repairs_total: 'counter',
    mydatastore_read_repair_failures_total: 'counter',
    mydatastore_hints_stored_total: 'counter',
    mydatastore_hints_pending: 'gauge',
    mydatastore_hints_pending_bytes: 'gauge',
    mydatastore_hints_replayed_total: 'counter',
    mydatastore_raft_term: 'gauge',
    mydatastore_raft_commit_index: 'gauge',
    mydatastore_raft_is_leader: 'gauge',
    mydatastore_cluster_epoch: 'gauge',
    mydatastore_gossip_members: 'gauge',
    mydatastore_lsm_level_files: 'gauge',
    mydatastore_lsm_compactions_total: 'counter',
    mydatastore_lsm_write_stalls_total: 'counter',
    process_resident_memory_bytes: 'gauge',
    nodejs_heap_size_used_bytes: 'gauge',
    mydatastore_event_loop_delay_seconds: 'gauge',
    mydatastore_http_requests_total: 'counter',
  };
  for (const [name, type] of Object.entries(types)) t.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${name} is a ${type}`);
  const ok = (api: string, op: string, consistency: string) => sample(text, `mydatastore_client_requests_total{api="${api}",op="${op}",consistency="${consistency}",outcome="ok"}`) ?? 0;
  t.ok(ok('http', 'put', 'DEFAULT') >= 2, 'HTTP puts with the default consistency were counted');
  t.ok(ok('http', 'put', 'ALL') >= 1, 'and HTTP puts with ALL, apart');
  t.equal(ok('rpc', 'put', 'ALL'), 1, 'the RPC put with ALL was counted under api="rpc"');
  t.ok((sample(text, 'mydatastore_client_requests_total{api="http",op="put",consistency="ALL",outcome="unavailable"}') ?? 0) >= 1, 'the failed ALL put counted as unavailable');
  const putLatencies = ['DEFAULT', 'ALL'].map((c) => sample(text, `mydatastore_client_request_duration_seconds_count{api="http",op="put",consistency="${c}"}`) ?? 0);
  t.ok(putLatencies.every((n) => n >= 2), `put latencies observed per consistency (DEFAULT, ALL: ${putLatencies.join(', ')})`);
  t.ok((sample(text, 'mydatastore_quorum_failures_total') ?? 0) >= 1, 'quorum failures counted');
  t.ok((sample(text, 'mydatastore_hints_stored_total') ?? 0) >= 1, 'hints stored for the killed node');
  t.ok((sample(text, 'mydatastore_raft_term') ?? 0) >= 1, 'the Raft term');
  t.ok((sample(text, 'mydatastore_raft_commit_index') ?? 0) >= 3, 'the commit index');
  t.ok((sample(text, 'mydatastore_cluster_epoch') ?? 0) >= 1, 'the epoch');
  t.ok((sample(text, 'mydatastore_lsm_user_written_bytes_total') ?? 0) > 0, 'the LSM engine counted the replica writes');
  t.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 1e6, 'the process RSS');
  const leaders = await Promise.all([n1, n2].map(async (n) => sample((await http(`${n.url}/metrics`)).text, 'mydatastore_raft_is_leader')));
  t.ok(leaders.every((v) => v === 0 || v === 1) && leaders.filter((v) => v === 1).length <= 1, `at most one of the live nodes reports itself leader (${leaders.join(', ')})`);
  await waitFor(async () => sample((await http(`${n2.url}/metrics`)).text, 'mydatastore_gossip_members{state="dead"}') === 1, 15_000, 'n2 to see n3 dead');
  t.pass('n2 counts n3 among the dead gossip members');

  // Graceful stop: the gateway closes and the nodes exit 0.
  for (const n of [n1, n2]) n.child.kill('SIGTERM');
  t.same(await Promise.all([exited(n1.child), exited(n2.child)]), [0, 0], 'both live nodes exit 0 on SIGTERM');
  const closed = await fetch(`${n1.url}/health`, { signal: AbortSignal.timeout(5000) }).then(
    () => 'answered',
    () => 'refused',
  );
  t.equal(closed, 'refused', 'the gateway no longer accepts connections');
});

t.test('a node refuses to start on an HTTP port in use, or with R or W above N', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-node-http-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as net.AddressInfo).port;

  const inUse = await mydatastore('server', '--node-id', 'x', '--listen', '127.0.0.1:0', '--http', `127.0.0.1:${port}`, '--data', join(dir, 'x'));
  t.equal(inUse.code, 1, 'an HTTP port in use: exit 1');
  t.match(inUse.stdout + inUse.stderr, new RegExp(`cannot serve HTTP on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`), 'saying which port');
  t.notMatch(inUse.stdout + inUse.stderr, /listening on/, 'before it announced anything');

  const bad = await mydatastore('server', '--node-id', 'y', '--listen', '127.0.0.1:0', '--replicas', '2', '--write-quorum', '3', '--data', join(dir, 'y'));
  t.not(bad.code, 0, `W=3 with N=2: refused (exit ${bad.code})`);
  t.match(bad.stdout + bad.stderr, /write.quorum/i, `with a message naming the write quorum: ${(bad.stdout + bad.stderr).trim().split('\n').pop() ?? ''}`);
  t.notOk(existsSync(join(dir, 'y')), 'nothing was created on disk');
});
