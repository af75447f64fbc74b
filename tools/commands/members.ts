import { memberFromPb } from '../../cluster/membership/codec.js';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { RpcClient } from '../../rpc/client.js';
import { errorText } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { ClientCredentials } from '../client-credentials.js';

export interface MembersOptions {
  timeout: number;
  json?: boolean;
  credentials?: ClientCredentials;
}

/** Asks one node for its membership view (Members RPC). */
export async function fetchMembers(address: string, timeoutMs: number, credentials: ClientCredentials = {}): Promise<{ nodeId: string; clusterId: string; members: MemberRecord[] }> {
  const client = new RpcClient({ connectTimeoutMs: timeoutMs, defaultTimeoutMs: timeoutMs, ...credentials });
  try {
    const res = await client.call(address, Methods.Members, {});
    const members = res.members.map(memberFromPb).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { nodeId: res.nodeId, clusterId: res.clusterId, members };
  } finally {
    client.destroy();
  }
}

/** The view as an aligned text table, one member per line, sorted by id. */
export function formatMembers(members: readonly MemberRecord[]): string {
  const rows = [['ID', 'ADDRESS', 'STATE', 'INCARNATION', 'ZONE']];
  for (const m of members) rows.push([m.id, m.address, m.state, String(m.incarnation), m.meta.zone ?? '-']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Prints a node's membership view; exit code 0, or 1 when the node did not answer. */
export async function members(address: string, opts: MembersOptions): Promise<number> {
  try {
    const view = await fetchMembers(address, opts.timeout, opts.credentials);
    if (opts.json === true) {
      console.log(JSON.stringify(view, null, 2));
      return 0;
    }
    const count = (s: string) => view.members.filter((m) => m.state === s).length;
    console.log(`cluster "${view.clusterId}" as seen by ${view.nodeId} (${address}): ${view.members.length} members, ${count('alive')} alive, ${count('suspect')} suspect, ${count('dead')} dead, ${count('left')} left`);
    console.log(formatMembers(view.members));
    return 0;
  } catch (err) {
    const what = errorText(err);
    console.error(`cannot get the members of ${address}: ${what}`);
    return 1;
  }
}
