/**
 * `mydatastore cluster status|add|kill|restart` as a developer runs them on a detached local cluster:
 * real processes on real (random, high) ports, a temporary data directory, `cluster stop` at the end and
 * no node process left behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { collectClusterStatus } from '../../tools/commands/cluster-status.js';
import type { ClusterNodeStatus } from '../../tools/commands/cluster-status.js';
import { isNodeProcess } from '../../tools/commands/cluster-processes.js';
import { mydatastore } from '../support/cli.js';
import { freePorts, killLeftovers, readClusterJson, tempData } from '../support/local-cluster.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';

/** `cluster status --json` through the CLI, as a map by node id. */
async function statusJson(data: string): Promise<Map<string, ClusterNodeStatus>> {
  const res = await mydatastore('cluster', 'status', '--data', data, '--json');
  if (res.code !== 0) throw new Error(`cluster status failed: ${res.stderr}`);
  const { nodes } = JSON.parse(res.stdout) as { nodes: ClusterNodeStatus[] };
  return new Map(nodes.map((n) => [n.id, n]));
}

/** The same rows computed in this process: cheaper to poll on a loaded machine than spawning the CLI. */
async function clusterStatus(data: string): Promise<Map<string, ClusterNodeStatus>> {
  const { nodes } = await collectClusterStatus({ data, timeout: 1000 });
  return new Map(nodes.map((n) => [n.id, n]));
}

const pidOf = (data: string, id: string) => readClusterJson(data).nodes.find((n) => n.id === id)?.pid ?? -1;

t.test('a detached cluster grown, broken and repaired by hand: status, add, kill, restart', async (t) => {
  const data = tempData(t);
  killLeftovers(t, data);
  const base = await freePorts(3);
  const http = await freePorts(3);
  t.teardown(() => mydatastore('cluster', 'stop', '--data', data));
  const started = await mydatastore('cluster', 'start', '-n', '2', '--base-port', String(base), '--http-base-port', String(http), '--data', data, '--detach', '--probe-interval-ms', '200');
  t.equal(started.code, 0, 'cluster start --detach exits 0', { stderr: started.stderr });

  const table = await mydatastore('cluster', 'status', '--data', data);
  t.equal(table.code, 0);
  t.match(table.stdout, /^2 nodes, 2 running; STATE and COMMITTED as seen by node\d$/m);
  t.match(table.stdout, /^ID +RPC +HTTP +PID +PROCESS +STATE +COMMITTED +RAFT$/m, 'a table with a header');
  for (let k = 1; k <= 2; k++) {
    t.match(table.stdout, new RegExp(`^node${k} +127\\.0\\.0\\.1:${base + k - 1} +127\\.0\\.0\\.1:${http + k - 1} +${pidOf(data, `node${k}`)} +running +alive `, 'm'), `node${k}: addresses, pid, running, alive`);
  }

  const added = await mydatastore('cluster', 'add', '--data', data);
  t.equal(added.code, 0, 'cluster add exits 0', { stderr: added.stderr });
  t.match(added.stdout, new RegExp(`^added node3 +127\\.0\\.0\\.1:${base + 2} +http://127\\.0\\.0\\.1:${http + 2} `, 'm'), 'node3 on the next RPC and HTTP ports');
  t.match(added.stdout, /every running node sees node3 alive/);
  t.ok(isNodeProcess(pidOf(data, 'node3')), 'cluster.json holds the pid of the running node3');
  t.match(readFileSync(join(data, 'node3', 'node.log'), 'utf8'), /listening on/, 'node3 logs to DATA/node3/node.log');
  const view = await mydatastore('members', `127.0.0.1:${base}`);
  t.match(view.stdout, /3 members, 3 alive/, 'node1 sees node3');

  const oldPid = pidOf(data, 'node2');
  const killed = await mydatastore('cluster', 'kill', 'node2', '--data', data);
  t.equal(killed.code, 0, 'cluster kill exits 0');
  t.match(killed.stdout, `killed node2 (pid ${oldPid}) with SIGKILL`);
  t.notOk(isNodeProcess(oldPid), 'node2\'s process is gone when kill returns');
  t.equal((await statusJson(data)).get('node2')?.process, 'exited', 'status --json shows node2 exited');
  await waitFor(async () => (await clusterStatus(data)).get('node2')?.state !== 'alive', 20_000, 'the others to notice node2 is down');
  const again = await mydatastore('cluster', 'kill', 'node2', '--data', data);
  t.equal(again.code, 1);
  t.match(again.stderr, /node2 is already stopped: start it again with "mydatastore cluster restart node2"/);

  const restarted = await mydatastore('cluster', 'restart', 'node2', '--data', data);
  t.equal(restarted.code, 0, 'cluster restart exits 0', { stderr: restarted.stderr });
  t.match(restarted.stdout, new RegExp(`^restarted node2 +127\\.0\\.0\\.1:${base + 1} `, 'm'), 'same ports');
  t.match(restarted.stdout, /every running node sees node2 alive/);
  t.not(pidOf(data, 'node2'), oldPid, 'a new process, recorded in cluster.json');
  const afterRestart = (await clusterStatus(data)).get('node2');
  t.match(afterRestart, { process: 'running', state: 'alive' }, 'status shows node2 running and alive again');
  const twice = await mydatastore('cluster', 'restart', 'node2', '--data', data);
  t.equal(twice.code, 1);
  t.match(twice.stderr, /node2 is already running \(pid \d+\)/);

  const paused = await mydatastore('cluster', 'kill', 'node3', '--signal', 'STOP', '--data', data);
  t.equal(paused.code, 0);
  t.match(paused.stdout, /paused node3 .* with SIGSTOP/);
  t.equal((await clusterStatus(data)).get('node3')?.process, 'paused', 'status shows node3 paused');
  t.match((await mydatastore('cluster', 'kill', 'node3', '-s', 'STOP', '--data', data)).stderr, /node3 is already paused/);
  const resumed = await mydatastore('cluster', 'kill', 'node3', '-s', 'CONT', '--data', data);
  t.match(resumed.stdout, /resumed node3 .* with SIGCONT/);
  t.equal((await clusterStatus(data)).get('node3')?.process, 'running');

  const termed = await mydatastore('cluster', 'kill', 'node3', '-s', 'TERM', '--data', data);
  t.equal(termed.code, 0);
  t.match(termed.stdout, /stopped node3 .* with SIGTERM/);
  t.match(logText(readFileSync(join(data, 'node3', 'node.log'), 'utf8')), /membership: left .*\n.*stopped\n$/, 'TERM stops node3 gracefully');
  t.equal((await mydatastore('cluster', 'restart', 'node3', '--data', data)).code, 0, 'a gracefully stopped node restarts too');

  const unknown = await mydatastore('cluster', 'kill', 'node9', '--data', data);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no node "node9" in this cluster \(its nodes: node1, node2, node3\)/);

  const pids = readClusterJson(data).nodes.map((n) => n.pid);
  const stopped = await mydatastore('cluster', 'stop', '--data', data);
  t.match(stopped.stdout, /stopped 3 nodes/, 'cluster stop stops the added and restarted nodes too');
  t.ok(pids.every((pid) => !isNodeProcess(pid)), 'no node process remains');
});

t.test('status, add, kill and restart without a cluster say how to start one', async (t) => {
  const data = tempData(t);
  for (const args of [['status'], ['add'], ['kill', 'node1'], ['restart', 'node1']]) {
    const res = await mydatastore('cluster', ...args, '--data', data);
    t.equal(res.code, 1, `cluster ${args[0]} exits 1`);
    t.match(res.stderr, `no cluster was started from ${data} (no cluster.json): start one with "mydatastore cluster start --detach`);
  }
  const bad = await mydatastore('cluster', 'kill', 'node1', '--signal', 'HUP', '--data', data);
  t.not(bad.code, 0, 'an unknown signal is refused');
  t.match(bad.stderr, /Allowed choices are KILL, TERM, STOP, CONT/);
});
