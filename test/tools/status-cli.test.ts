/**
 * `mydatastore status` as a user runs it against a real node: the text and JSON forms show the Raft role,
 * leader, term, commit index, epoch, config and committed members; an unreachable node gives a clear
 * error and exit code 1. `mydatastore decommission` removes a member through any node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fetchStatus, type NodeStatus } from '../../tools/commands/status.js';
import { cli, mydatastore } from '../support/cli.js';
import { exited, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

t.test('status of a bootstrapped single node: text and --json', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'mydatastore-status-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const srv = await startNode(
    t,
    cli,
    ['server', '--listen', '127.0.0.1:0', '--node-id', 'solo', '--data', data, '--bootstrap', '--zone', 'z1', '--epoch-interval', '200', '--raft-tick', '20'],
    /listening on 127\.0\.0\.1:(\d+)/,
  );
  const address = `127.0.0.1:${srv.match}`;
  await waitFor(
    async () => {
      const s = await fetchStatus(address, 1000).catch(() => undefined);
      return s !== undefined && s.role === 'leader' && s.created && s.epoch >= 2;
    },
    20_000,
    'the node to create the cluster, lead it and bump the epoch',
  );
  const json = await mydatastore('status', address, '--json');
  t.equal(json.code, 0);
  const s = JSON.parse(json.stdout) as NodeStatus;
  t.equal(s.nodeId, 'solo');
  t.equal(s.leaderId, 'solo', 'it leads its own cluster');
  t.same(s.voters, ['solo']);
  t.same(s.members.map((m) => [m.id, m.address, m.zone, m.status]), [['solo', address, 'z1', 'active']], 'itself as the one committed member');
  t.same(s.ringMembers, ['solo']);
  t.ok(s.term >= 1 && s.commitIndex >= s.appliedIndex && s.appliedIndex > 0, `term ${s.term}, commit ${s.commitIndex}, applied ${s.appliedIndex}`);

  const text = await mydatastore('status', '--address', address);
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`^node solo \\(${address.replace(/\./g, '\\.')}\\) of cluster "mydatastore": raft leader, leader solo, term \\d+$`, 'm'));
  t.match(text.stdout, /^log: commit \d+, applied \d+, last \d+, snapshot \d+$/m);
  t.match(text.stdout, /^epoch \d+; config P=256 N=3 R=2 W=2$/m);
  t.match(text.stdout, /^ID +ADDRESS +STATUS +ZONE +JOINED EPOCH +RAFT$/m, 'a member table with a header');
  t.match(text.stdout, /^solo +127\.0\.0\.1:\d+ +active +z1 +1 +voter$/m);

  srv.child.kill('SIGTERM');
  t.equal(await exited(srv.child), 0, 'the node stops cleanly');
});

t.test('decommission through a follower removes the member from every committed list and the ring', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'mydatastore-decommission-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const fast = ['--raft-tick', '20', '--probe-interval-ms', '200', '--leave-timeout-ms', '500'];
  const ready = /listening on 127\.0\.0\.1:(\d+)/;
  const a = await startNode(t, cli, ['server', '--listen', '127.0.0.1:0', '--node-id', 'a', '--data', join(data, 'a'), '--bootstrap', ...fast], ready);
  const addrA = `127.0.0.1:${a.match}`;
  const b = await startNode(t, cli, ['server', '--listen', '127.0.0.1:0', '--node-id', 'b', '--data', join(data, 'b'), '--seeds', addrA, ...fast], ready);
  const addrB = `127.0.0.1:${b.match}`;
  // Polled over RPC (a CLI run per poll costs a second on a busy box); the commands under test run as CLI.
  const statusOf = (address: string): Promise<NodeStatus | undefined> => fetchStatus(address, 1000).catch(() => undefined);
  await waitFor(async () => (await statusOf(addrB))?.ringMembers.join() === 'a,b', 20_000, 'b to be a committed member');

  const res = await mydatastore('decommission', 'b', '--address', addrB);
  t.equal(res.code, 0, `decommission exits 0 (${res.stderr.trim()})`);
  t.match(res.stdout, /^b is removed from the cluster \(committed at index \d+ by leader a, epoch \d+\)/);
  const s = await statusOf(addrA);
  t.same(s?.members.map((m) => `${m.id}:${m.status}`), ['a:active', 'b:removed'], 'the leader lists b as removed at once');
  t.same(s?.ringMembers, ['a'], 'and b is out of its ring');
  await waitFor(async () => (await statusOf(addrB))?.ringMembers.join() === 'a', 10_000, 'b to apply its own removal');
  t.pass('b itself applies its removal');

  const unknown = await mydatastore('decommission', 'nobody', '--address', addrA);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /cannot decommission nobody through 127\.0\.0\.1:\d+: RPC_NOT_FOUND: no member nobody/);
  for (const n of [b, a]) n.child.kill('SIGTERM');
  t.same(await Promise.all([exited(a.child), exited(b.child)]), [0, 0], 'both nodes stop cleanly');
});

t.test('status of nothing fails with a clear message and exit code 1', async (t) => {
  const res = await mydatastore('status', '127.0.0.1:1', '--timeout', '2000');
  t.equal(res.code, 1);
  t.match(res.stderr, /cannot get the status of 127\.0\.0\.1:1: RPC_CONNECTION: .*is a node running there\?/);
  const bad = await mydatastore('status', '--address', 'nowhere');
  t.not(bad.code, 0);
  t.match(bad.stderr, /invalid address "nowhere"/);
});
