/**
 * Raft over real processes and TCP: three `mydatastore server` processes on 127.0.0.1 (the first with
 * --bootstrap) agree on one leader, the same committed member list and the same ring; kill -9 of the
 * leader gets a new leader within 3 s and the epoch keeps advancing; the old leader restarted on its data
 * directory catches up (through a snapshot: the threshold is tiny); a 4th node joins and shows up in every
 * node's committed members and ring; SIGTERM of the leader hands leadership to another voter before it
 * exits. Short intervals (50 ms ticks, 200 ms epochs, 200 ms probes) keep it to
 * seconds; every wait is for a condition, with a generous deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { statusFromPb, type NodeStatus } from '../../tools/commands/status.js';
import { exited, killAndWait, startNode } from '../support/processes.js';
import type { Started } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';

const cli = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const FAST = [
  '--cluster-id', 'real-raft',
  '--probe-interval-ms', '200',
  '--push-pull-interval-ms', '2000',
  '--leave-timeout-ms', '1000',
  '--raft-tick', '50',
  '--epoch-interval', '200',
  '--snapshot-entries', '5',
];

interface RunningNode extends Started {
  id: string;
  address: string;
  data: string;
  seeds: string[];
}

async function startServer(t: Test, started: RunningNode[], id: string, listen: string, data: string, seeds: string[], bootstrap = false): Promise<RunningNode> {
  const args = ['server', '--node-id', id, '--listen', listen, '--data', data, ...FAST];
  if (seeds.length > 0) args.push('--seeds', seeds.join(','));
  if (bootstrap) args.push('--bootstrap');
  const s = await startNode(t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
  const node = { ...s, id, address: `127.0.0.1:${s.match}`, data, seeds };
  started.push(node);
  return node;
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const activeIds = (s: NodeStatus): string[] => sorted(s.members.filter((m) => m.status === 'active').map((m) => m.id));

t.test('3 real nodes: one leader and ring; kill -9 the leader; restart catches up by snapshot; a 4th joins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-raft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = new RpcClient({ connectTimeoutMs: 500, defaultTimeoutMs: 1000, backoffMaxMs: 50 });
  t.teardown(() => client.destroy());

  const status = async (n: RunningNode): Promise<NodeStatus | undefined> => {
    try {
      return statusFromPb(await client.call(n.address, Methods.Status, {}));
    } catch {
      return undefined;
    }
  };
  const all = async (nodes: RunningNode[]): Promise<NodeStatus[] | undefined> => {
    const ss = await Promise.all(nodes.map(status));
    return ss.every((s) => s !== undefined) ? ss : undefined;
  };
  /** Every node answers, and they agree on one leader, the active members `ids` and a ring of exactly them. */
  const agreed = async (nodes: RunningNode[], ids: string[]): Promise<NodeStatus[] | undefined> => {
    const ss = await all(nodes);
    if (ss === undefined) return undefined;
    const leader = ss[0]!.leaderId;
    const ok = ss.every((s) => s.leaderId === leader && leader !== '' && activeIds(s).join() === ids.join() && sorted(s.ringMembers).join() === ids.join());
    return ok ? ss : undefined;
  };

  const nodes: RunningNode[] = [];
  const everStarted: RunningNode[] = [];
  // On a failure, the nodes' logs say what happened (printed to stderr, outside the TAP stream).
  t.teardown(() => {
    if (t.passing()) return;
    for (const n of everStarted) process.stderr.write(`---- ${n.id} (${n.address}) ----\n${n.output()}\n`);
  });
  for (const id of ['n1', 'n2', 'n3']) {
    nodes.push(await startServer(t, everStarted, id, '127.0.0.1:0', join(dir, id), nodes.map((n) => n.address), id === 'n1'));
  }
  let start = Date.now();
  let view: NodeStatus[] | undefined;
  await waitFor(async () => (view = await agreed(nodes, ['n1', 'n2', 'n3'])) !== undefined, 30_000, 'the 3 nodes to agree on a leader, 3 committed members and the ring');
  t.pass(`3 nodes agree on leader ${view![0]!.leaderId}, members and ring after ${Date.now() - start} ms`);
  await waitFor(async () => ((await all(nodes)) ?? []).filter((s) => s.voters.length === 3).length === 3, 20_000, 'all 3 nodes to be voters');
  view = (await agreed(nodes, ['n1', 'n2', 'n3']))!;
  t.equal(view.filter((s) => s.role === 'leader').length, 1, 'exactly one node says it is the leader');
  t.ok(view.every((s) => s.created && s.config.partitions === view![0]!.config.partitions && s.config.replicas === 3), 'the same committed config everywhere');
  t.ok(view.every((s) => s.members.find((m) => m.id === 'n2')?.address === nodes[1]!.address), 'committed addresses are the advertised ones');

  // kill -9 the leader.
  const oldLeader = nodes.find((n) => n.id === view![0]!.leaderId)!;
  const survivors = nodes.filter((n) => n !== oldLeader);
  const killedAt = Date.now();
  await killAndWait(oldLeader.child, 'SIGKILL');
  let newLeader = '';
  await waitFor(
    async () => {
      const ss = await all(survivors);
      const l = ss?.[0]?.leaderId ?? '';
      if (ss === undefined || l === '' || l === oldLeader.id || !ss.every((s) => s.leaderId === l)) return false;
      newLeader = l;
      return true;
    },
    15_000,
    'the survivors to agree on a new leader',
  );
  const failoverMs = Date.now() - killedAt;
  t.ok(failoverMs < 3000, `new leader ${newLeader} agreed by both survivors ${failoverMs} ms after kill -9 of ${oldLeader.id} (must be < 3000)`);
  const afterElection = (await all(survivors))!;
  // The new leader's first probe of the old leader starts at most here: a snapshot beyond it forces InstallSnapshot.
  const lastIndexAtElection = Math.max(...afterElection.map((s) => s.lastIndex));
  const epochAfter = Math.min(...afterElection.map((s) => s.epoch));
  await waitFor(async () => ((await all(survivors)) ?? []).every((s) => s.epoch >= epochAfter + 3), 15_000, 'the epoch to keep advancing');
  t.pass(`the epoch keeps advancing under ${newLeader} (from ${epochAfter} to at least ${epochAfter + 3})`);

  // The leader's log is compacted past where its replication to the old leader starts: catching up needs a snapshot.
  const leaderNode = survivors.find((n) => n.id === newLeader)!;
  await waitFor(async () => ((await status(leaderNode))?.snapshotIndex ?? 0) > lastIndexAtElection, 20_000, 'the leader to compact past the old leader\'s log');
  start = Date.now();
  const reborn = await startServer(t, everStarted, oldLeader.id, oldLeader.address, oldLeader.data, survivors.map((n) => n.address));
  t.equal(reborn.address, oldLeader.address, 'the old leader restarts on its port and data directory');
  t.match(logText(reborn.output()), /raft: recovered term [1-9]\d*, commit [1-9]\d*/, 'it recovers its Raft state from disk');
  nodes[nodes.indexOf(oldLeader)] = reborn;
  const target = (await status(leaderNode))!.commitIndex;
  let caughtUp: NodeStatus | undefined;
  await waitFor(async () => ((caughtUp = await status(reborn))?.appliedIndex ?? 0) >= target, 20_000, `${reborn.id} to catch up to commit ${target}`);
  t.pass(`${reborn.id} applied up to ${caughtUp!.appliedIndex} (leader's commit was ${target}) ${Date.now() - start} ms after restart`);
  t.ok(caughtUp!.snapshotsInstalled >= 1, `it caught up through a snapshot (${caughtUp!.snapshotsInstalled} installed; the leader had compacted past ${lastIndexAtElection})`);
  t.equal(caughtUp!.leaderId, newLeader, 'it follows the new leader');
  t.same(activeIds(caughtUp!), ['n1', 'n2', 'n3'], 'its committed member list is the cluster\'s');

  // A 4th node joins: the leader adds it once gossip sees it alive.
  start = Date.now();
  nodes.push(await startServer(t, everStarted, 'n4', '127.0.0.1:0', join(dir, 'n4'), nodes.map((n) => n.address)));
  await waitFor(async () => (view = await agreed(nodes, ['n1', 'n2', 'n3', 'n4'])) !== undefined, 30_000, 'all 4 nodes to list n4 and place it in the ring');
  t.pass(`n4 is in every node's committed member list and ring ${Date.now() - start} ms after it started`);
  t.ok(view.every((s) => s.ringMembers.includes('n4') && s.members.find((m) => m.id === 'n4')?.address === nodes[3]!.address), 'with its advertised address');
  await waitFor(async () => ((await all(nodes)) ?? []).filter((s) => s.voters.length === 3 && s.learners.join() === 'n4').length === 4, 20_000, 'n4 to be a learner everywhere');
  t.pass('n4 replicates the log as a learner (3 voters are the target)');
  t.match(leaderLog(nodes, newLeader), /raft: committed add-member n4 at 127\.0\.0\.1:\d+/, 'the leader logs the new member');

  // A graceful stop of the leader hands leadership over before it exits.
  const leaving = nodes.find((n) => n.id === newLeader)!;
  const rest = nodes.filter((n) => n !== leaving);
  start = Date.now();
  leaving.child.kill('SIGTERM');
  t.equal(await exited(leaving.child), 0, `${leaving.id} stops cleanly on SIGTERM`);
  const handedTo = /raft: leadership transferred to (\S+)/.exec(logText(leaving.output()))?.[1];
  t.ok(handedTo !== undefined && handedTo !== 'n4', `${leaving.id} handed leadership to voter ${handedTo} before exiting`);
  await waitFor(async () => ((await all(rest)) ?? []).every((s) => s.leaderId === handedTo), 10_000, `the others to follow ${handedTo}`);
  t.pass(`the other 3 nodes follow ${handedTo} ${Date.now() - start} ms after SIGTERM of the leader`);
});

function leaderLog(nodes: RunningNode[], id: string): string {
  return logText(nodes.find((n) => n.id === id)?.output() ?? '');
}
