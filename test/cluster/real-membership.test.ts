/**
 * SWIM membership over real processes and TCP: five `mydatastore server` processes on 127.0.0.1 find each
 * other through seeds; a node killed with SIGKILL is declared dead by every other; restarted with the same
 * id and port it is alive again everywhere, with a higher incarnation. Short protocol intervals (200 ms
 * probes) keep it to a few seconds; every wait is for a condition, with a generous deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Test } from 'tap';
import { memberFromPb } from '../../cluster/membership/codec.js';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { killAndWait, startNode } from '../support/processes.js';
import type { Started } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { waitFor } from '../support/wait.js';

const cli = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const FAST = ['--cluster-id', 'real-test', '--probe-interval-ms', '200', '--push-pull-interval-ms', '2000', '--leave-timeout-ms', '1000'];
const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
// Each node keeps its (Raft) state in its own directory here; a restarted node finds its old one.
const dataRoot = mkdtempSync(join(tmpdir(), 'mds-real-membership-'));
t.teardown(() => rmSync(dataRoot, { recursive: true, force: true }));

interface RunningNode extends Started {
  id: string;
  address: string;
  args: string[];
}

async function startServer(t: Test, id: string, listen: string, seeds: string[]): Promise<RunningNode> {
  const args = ['server', '--node-id', id, '--listen', listen, '--data', join(dataRoot, id), ...FAST];
  if (seeds.length > 0) args.push('--seeds', seeds.join(','));
  const s = await startNode(t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
  return { ...s, id, address: `127.0.0.1:${s.match}`, args };
}

t.test('5 real nodes: join, kill -9 is detected everywhere, restart with the same id is alive again', async (t) => {
  const client = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 1000, backoffMaxMs: 100 });
  t.teardown(() => client.destroy());

  /** A node's view by member id, or undefined if it does not answer. */
  const view = async (address: string): Promise<Map<string, MemberRecord> | undefined> => {
    try {
      const res = await client.call(address, Methods.Members, {});
      return new Map(res.members.map(memberFromPb).map((m) => [m.id, m]));
    } catch {
      return undefined;
    }
  };
  const everyone = async (nodes: RunningNode[], cond: (v: Map<string, MemberRecord>) => boolean): Promise<boolean> => {
    const views = await Promise.all(nodes.map((n) => view(n.address)));
    return views.every((v) => v !== undefined && cond(v));
  };
  const allAlive = (v: Map<string, MemberRecord>) => IDS.every((id) => v.get(id)?.state === 'alive');

  // Each node listens on a free port (port 0) and is seeded with the nodes started before it.
  const nodes: RunningNode[] = [];
  for (const id of IDS) nodes.push(await startServer(t, id, '127.0.0.1:0', nodes.map((n) => n.address)));
  let start = Date.now();
  await waitFor(() => everyone(nodes, allAlive), 20_000, 'all 5 nodes to see 5 alive');
  t.pass(`all 5 nodes see 5 alive members after ${Date.now() - start} ms`);

  const victim = nodes[2]!;
  const survivors = nodes.filter((n) => n !== victim);
  const before = (await view(nodes[0]!.address))!.get(victim.id)!.incarnation;

  await killAndWait(victim.child, 'SIGKILL');
  start = Date.now();
  await waitFor(() => everyone(survivors, (v) => v.get(victim.id)?.state === 'dead'), 30_000, `every survivor to mark ${victim.id} dead`);
  t.pass(`all 4 survivors mark ${victim.id} dead ${Date.now() - start} ms after kill -9`);
  t.ok(
    await everyone(survivors, (v) => survivors.every((s) => v.get(s.id)?.state === 'alive' || v.get(s.id)?.state === 'suspect')),
    'no survivor is dead (or left) in any survivor\'s view',
  );
  const deadLine = new RegExp(`node ${victim.id} ${victim.address.replace(/\./g, '\\.')} is now dead \\(incarnation ${before}\\)`);
  await waitFor(() => survivors.every((s) => deadLine.test(logText(s.output()))), 5000, 'the death to be logged');
  t.pass('every survivor logs "node n3 <address> is now dead (incarnation N)"');

  // Restart with the same id, the same port and the same seeds.
  start = Date.now();
  const reborn = await startServer(t, victim.id, victim.address, victim.args[victim.args.indexOf('--seeds') + 1]!.split(','));
  t.equal(reborn.address, victim.address, 'the restarted node listens on its old port');
  nodes[2] = reborn;
  await waitFor(
    () => everyone(nodes, (v) => allAlive(v) && (v.get(victim.id)?.incarnation ?? 0) > before),
    20_000,
    `${victim.id} to be alive again everywhere`,
  );
  t.pass(`${victim.id} is alive again in all 5 views, with a higher incarnation, ${Date.now() - start} ms after restart`);
  const v = (await view(nodes[0]!.address))!;
  t.ok(v.get(victim.id)!.incarnation > before, `incarnation ${v.get(victim.id)!.incarnation} > ${before}`);
});
