/**
 * `mydatastore cluster start|stop`, `members` and `server --seeds` as a user runs them: real processes,
 * real ports on 127.0.0.1, temporary data directories; afterwards no node process may remain.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isNodeProcess } from '../../tools/commands/cluster.js';
import { cli, mydatastore } from '../support/cli.js';
import { freePorts, killLeftovers, listen, tempData } from '../support/local-cluster.js';
import type { ClusterJson } from '../support/local-cluster.js';
import { logText } from '../support/log-lines.js';
import { exited, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

t.test('cluster start --detach: 3 nodes that see each other; members prints them; cluster stop leaves no process', async (t) => {
  const data = tempData(t);
  killLeftovers(t, data);
  const base = await freePorts(3);
  const http = await freePorts(3);
  const started = await mydatastore('cluster', 'start', '-n', '3', '--base-port', String(base), '--http-base-port', String(http), '--data', data, '--detach', '--probe-interval-ms', '200');
  t.equal(started.code, 0, 'cluster start --detach exits 0');
  t.match(started.stdout, /every node sees all 3 alive and serves data/);
  // Right away, with no retry: a put and a get through different nodes are served.
  const put = await fetch(`http://127.0.0.1:${http}/kv/greeting`, { method: 'PUT', body: 'hello', signal: AbortSignal.timeout(10_000) });
  t.equal(put.status, 200, 'a put through node1 as soon as start returns', { body: await put.text() });
  const got = await fetch(`http://127.0.0.1:${http + 2}/kv/greeting`, { signal: AbortSignal.timeout(10_000) });
  t.equal(await got.text(), 'hello', 'and a get through node3 reads it');
  t.match(started.stdout, new RegExp(`curl -X PUT --data-binary hello http://127\\.0\\.0\\.1:${http}/kv/greeting`), 'it prints how to talk to the cluster over HTTP');
  const health = await fetch(`http://127.0.0.1:${http + 2}/health`, { signal: AbortSignal.timeout(5000) });
  t.equal(health.status, 200, 'node3 serves HTTP on http-base-port+2');
  const file = JSON.parse(readFileSync(join(data, 'cluster.json'), 'utf8')) as ClusterJson;
  t.same(file.nodes.map((n) => n.address), [0, 1, 2].map((i) => `127.0.0.1:${base + i}`), 'nodeK listens on base-port+K-1');
  t.ok(file.nodes.every((n) => isNodeProcess(n.pid)), 'cluster.json holds the pids of 3 running nodes');

  const view = await mydatastore('members', `127.0.0.1:${base + 1}`);
  t.equal(view.code, 0);
  t.match(view.stdout, /as seen by node2 .*3 members, 3 alive/);
  t.match(view.stdout, /^ID +ADDRESS +STATE +INCARNATION +ZONE$/m, 'a table with a header');
  for (let k = 1; k <= 3; k++) t.match(view.stdout, new RegExp(`^node${k} +127\\.0\\.0\\.1:${base + k - 1} +alive +\\d+ +-$`, 'm'), `node${k} listed alive`);

  const stopped = await mydatastore('cluster', 'stop', '--data', data);
  t.equal(stopped.code, 0, 'cluster stop exits 0');
  t.match(stopped.stdout, /stopped 3 nodes/);
  t.ok(file.nodes.every((n) => !isNodeProcess(n.pid)), 'no node process remains');
  t.notOk(existsSync(join(data, 'cluster.json')), 'cluster.json is removed');
  for (let k = 1; k <= 3; k++) {
    const log = logText(readFileSync(join(data, `node${k}`, 'node.log'), 'utf8'));
    t.match(log, /membership: left .*\n.*stopped\n$/, `node${k} left the cluster and stopped gracefully (its node.log says so)`);
  }
  const again = await mydatastore('cluster', 'stop', '--data', data);
  t.equal(again.code, 0, 'a second stop is harmless');
  t.match(again.stdout, /no cluster is running/);
});

t.test('cluster start in the foreground prefixes node logs, and SIGTERM stops every node and exits 0', async (t) => {
  const data = tempData(t);
  killLeftovers(t, data);
  const base = await freePorts(2);
  const http = await freePorts(2);
  const sup = await startNode(t, cli, ['cluster', 'start', '-n', '2', '--base-port', String(base), '--http-base-port', String(http), '--data', data, '--probe-interval-ms', '200'], /node2 \| .*node node1 \S+ is now alive/);
  await waitFor(() => /node1 \| .*node node2 \S+ is now alive/.test(sup.output()), 10_000, 'node1 to see node2');
  const pids = (JSON.parse(readFileSync(join(data, 'cluster.json'), 'utf8')) as ClusterJson).nodes.map((n) => n.pid);
  t.equal(pids.length, 2);
  t.match(readFileSync(join(data, 'node1', 'node.log'), 'utf8'), /listening on 127\.0\.0\.1:\d+/, 'node1 also logs to data/node1/node.log');
  sup.child.kill('SIGTERM');
  t.equal(await exited(sup.child), 0, 'exit code 0');
  t.match(sup.output(), /all 2 nodes stopped/);
  t.ok(pids.every((pid) => !isNodeProcess(pid)), 'no node process remains');
});

t.test('cluster start refuses a port in use with a clear error, and starts nothing', async (t) => {
  const data = tempData(t);
  const base = await freePorts(2);
  const blocker = await listen(base + 1);
  t.teardown(() => new Promise((r) => blocker?.close(r)));
  const http = await freePorts(2);
  const res = await mydatastore('cluster', 'start', '-n', '2', '--base-port', String(base), '--http-base-port', String(http), '--data', data);
  t.equal(res.code, 1);
  t.match(res.stderr, new RegExp(`cannot start the cluster: 127\\.0\\.0\\.1:${base + 1} is already in use`));
  t.notOk(existsSync(join(data, 'cluster.json')), 'nothing was started');
});

t.test('server reads its flags from MYDATASTORE_* variables, and --help explains them', async (t) => {
  const help = await mydatastore('server', '--help');
  for (const flag of ['--seeds', '--cluster-id', '--zone', '--probe-interval-ms', 'MYDATASTORE_SEEDS', 'MYDATASTORE_NODE_ID', '--bootstrap', '--epoch-interval', '--voters', '--remove-dead-after', '--raft-tick', '--snapshot-entries', 'DATA/raft']) {
    t.match(help.stdout, flag);
  }
  // startNode spawns synchronously, so the child inherits these variables; they are restored at once.
  const dataDir = tempData(t);
  const env = { MYDATASTORE_NODE_ID: 'envnode', MYDATASTORE_ZONE: 'zone-a', MYDATASTORE_CLUSTER_ID: 'envcluster', MYDATASTORE_DATA: dataDir };
  Object.assign(process.env, env);
  const starting = startNode(t, cli, ['server', '--listen', '127.0.0.1:0'], /listening on 127\.0\.0\.1:(\d+)/);
  for (const k of Object.keys(env)) delete process.env[k];
  const srv = await starting;
  const view = await mydatastore('members', `127.0.0.1:${srv.match}`);
  t.match(view.stdout, /cluster "envcluster" as seen by envnode/);
  t.match(view.stdout, /^envnode +127\.0\.0\.1:\d+ +alive +\d+ +zone-a$/m, 'the zone from the environment is published');
  t.ok(existsSync(join(dataDir, 'raft')), 'the Raft state lives in MYDATASTORE_DATA/raft');
  srv.child.kill('SIGTERM');
  t.equal(await exited(srv.child), 0);
});
