/**
 * A real node's /metrics (tools/node-metrics.ts over prom-client), scraped over HTTP from one node process
 * (N = R = W = 1, so every count is exact):
 *   - every metric http/HTTP.md lists, and every anti-entropy metric, is served with the documented TYPE,
 *     and every mydatastore_* metric served is documented;
 *   - puts, gets and deletes through the HTTP API move the request counters and the latency histogram
 *     under their operation and consistency, by exactly the number of requests sent;
 *   - Raft, the committed replication settings, gossip, the LSM engine, the event loop and the process
 *     report plausible values; the node exits 0 on SIGTERM.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ANTIENTROPY_METRICS } from '../../cluster/antientropy/stats.js';
import { cli } from '../support/cli.js';
import { exited, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const READY_LINE = /http gateway on http:\/\/127\.0\.0\.1:(\d+)[^\n]*\n(?:.*\n)*?.*listening on 127\.0\.0\.1:(\d+)/;

interface Scrape {
  /** Metric name → the type its `# TYPE` line declares. */
  types: Map<string, string>;
  /** Series lines: name, labels, value. */
  series: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

/** Parses the text format (label values here never hold a quote, comma or backslash). */
function parse(text: string): Scrape {
  const types = new Map<string, string>();
  const series: Scrape['series'] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) types.set(type[1]!, type[2]!);
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (s === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of s[2]?.split(',') ?? []) {
      const [k, v] = pair.split('=');
      labels[k!] = JSON.parse(v!) as string;
    }
    series.push({ name: s[1]!, labels, value: Number(s[3]) });
  }
  return { types, series };
}

/** The value of the series with exactly these labels, or undefined. */
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).sort();
  return s.series.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === JSON.stringify(want))?.value;
}

/** `| \`name\` | type |` rows of http/HTTP.md's metrics table. */
function documentedMetrics(): Map<string, string> {
  const doc = readFileSync(fileURLToPath(new URL('../../../http/HTTP.md', import.meta.url)), 'utf8');
  return new Map([...doc.matchAll(/^\| `([a-z_:]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => [m[1]!, m[2]!]));
}

t.test('a real node serves its metrics through prom-client, documented and moving', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-node-metrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    'server', '--node-id', 'm1', '--cluster-id', 'node-metrics', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data', dir,
    '--bootstrap', '--replicas', '1', '--read-quorum', '1', '--write-quorum', '1', '--raft-tick', '20', '--epoch-interval', '1000',
  ];
  const node = await startNode(t, cli, args, READY_LINE);
  t.teardown(() => {
    if (!t.passing()) process.stderr.write(`---- node output ----\n${node.output()}\n`);
  });
  const url = `http://127.0.0.1:${READY_LINE.exec(node.output())![1]!}`;
  const http = async (path: string, method = 'GET', body?: string) => {
    const res = await fetch(url + path, { method, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(20_000) });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  await waitFor(async () => (await http('/ready')).status === 200, 30_000, 'the node to be ready');

  for (const k of ['a', 'b', 'c']) t.equal((await http(`/kv/${k}`, 'PUT', `value-${k}`)).status, 200, `PUT /kv/${k}`);
  t.equal((await http('/kv/d?consistency=ONE', 'PUT', 'value-d')).status, 200, 'PUT /kv/d?consistency=ONE');
  for (const k of ['a', 'b']) t.equal((await http(`/kv/${k}?consistency=QUORUM`)).status, 200, `GET /kv/${k}?consistency=QUORUM`);
  t.equal((await http('/kv/missing')).status, 404, 'GET of a missing key');
  t.equal((await http('/kv/c', 'DELETE')).status, 200, 'DELETE /kv/c');

  const res = await http('/metrics');
  t.equal(res.status, 200, '/metrics answers 200');
  t.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8', 'in the Prometheus text format');
  const m = parse(res.text);

  // Names and types: the documentation and the exposition agree both ways.
  const documented = documentedMetrics();
  t.ok(documented.size >= 40, `http/HTTP.md lists the metrics (${documented.size} rows found)`);
  for (const [suffix, , , kind] of ANTIENTROPY_METRICS) documented.set(`mydatastore_antientropy_${suffix}`, kind);
  for (const [name, type] of documented) t.equal(m.types.get(name), type, `${name} is served as a ${type}`);
  const undocumented = [...m.types.keys()].filter((n) => n.startsWith('mydatastore_') && !documented.has(n));
  t.same(undocumented, [], 'every mydatastore_ metric served is documented');

  // Client requests: exact counts per operation, consistency and outcome.
  const requests = (op: string, consistency: string, outcome: string) => value(m, 'mydatastore_client_requests_total', { api: 'http', op, consistency, outcome });
  t.equal(requests('put', 'DEFAULT', 'ok'), 3, '3 puts with the default consistency');
  t.equal(requests('put', 'ONE', 'ok'), 1, '1 put with ONE, apart');
  t.equal(requests('get', 'QUORUM', 'ok'), 2, '2 gets with QUORUM');
  t.equal(requests('get', 'DEFAULT', 'not_found'), 1, 'the missing key as not_found');
  t.equal(requests('del', 'DEFAULT', 'ok'), 1, '1 delete');
  const latency = { api: 'http', op: 'put', consistency: 'DEFAULT' };
  t.equal(value(m, 'mydatastore_client_request_duration_seconds_count', latency), 3, 'the latency histogram counted the 3 default puts');
  t.equal(value(m, 'mydatastore_client_request_duration_seconds_bucket', { ...latency, le: '+Inf' }), 3, 'its +Inf bucket holds them all');
  t.ok((value(m, 'mydatastore_client_request_duration_seconds_sum', latency) ?? 0) > 0, 'and their time adds up');
  t.equal(value(m, 'mydatastore_client_request_duration_seconds_count', { api: 'http', op: 'get', consistency: 'QUORUM' }), 2, 'the QUORUM gets have their own latency series');
  t.equal(value(m, 'mydatastore_http_requests_total', { op: 'put', status: '200' }), 4, 'the gateway counted the 4 PUTs answered 200');
  t.equal(value(m, 'mydatastore_quorum_failures_total'), 0, 'no quorum failure');

  // What the modules keep, sampled at scrape time.
  t.ok((value(m, 'mydatastore_raft_term') ?? 0) >= 1, 'the Raft term');
  t.ok((value(m, 'mydatastore_raft_commit_index') ?? 0) >= 1, 'the commit index');
  t.equal(value(m, 'mydatastore_raft_is_leader'), 1, 'the only node leads');
  t.ok((value(m, 'mydatastore_raft_leader_changes_total') ?? 0) >= 1, 'and saw at least one leader change (its own election)');
  for (const setting of ['n', 'r', 'w']) t.equal(value(m, 'mydatastore_cluster_replication', { setting }), 1, `the committed ${setting} is 1`);
  t.equal(value(m, 'mydatastore_cluster_members', { status: 'active' }), 1, 'one active member');
  t.equal(value(m, 'mydatastore_gossip_members', { state: 'alive' }), 1, 'one alive gossip member');
  t.ok((value(m, 'mydatastore_lsm_user_written_bytes_total') ?? 0) > 0, 'the LSM engine counted the writes');
  t.ok(value(m, 'mydatastore_lsm_level_bytes', { level: '0' }) !== undefined, 'LSM bytes per level');
  const delay = value(m, 'mydatastore_event_loop_delay_seconds', { stat: 'p99' });
  t.ok(delay !== undefined && delay >= 0 && delay < 5, `the event-loop delay p99 (${delay} s)`);
  t.ok((value(m, 'process_resident_memory_bytes') ?? 0) > 1e6, 'the process RSS');
  t.ok((value(m, 'nodejs_heap_size_used_bytes') ?? 0) > 1e6, 'the V8 heap in use');

  // A scrape is no client request; the gateway counts it once answered.
  const again = parse((await http('/metrics')).text);
  t.equal(value(again, 'mydatastore_client_requests_total', { api: 'http', op: 'put', consistency: 'DEFAULT', outcome: 'ok' }), 3, 'a scrape leaves the client counts alone');
  t.equal(value(again, 'mydatastore_http_requests_total', { op: 'metrics', status: '200' }), 1, 'the first scrape was counted');

  node.child.kill('SIGTERM');
  t.equal(await exited(node.child), 0, 'the node exits 0 on SIGTERM');
});
