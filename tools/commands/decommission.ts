/**
 * `mydatastore decommission <id>`: removes a member from the committed member list (Decommission RPC,
 * method 72). Any node takes the request and forwards it to the Raft leader; the command retries while
 * the cluster has no leader or hands leadership over, until --timeout.
 */
import Long from 'long';
import { RpcClient } from '../../rpc/client.js';
import { UnavailableError, errorText } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { ClientCredentials } from '../client-credentials.js';

export interface DecommissionOptions {
  address: string;
  timeout: number;
  credentials?: ClientCredentials;
}

const num = (v: Long | number): number => (Long.isLong(v) ? v.toNumber() : v);

export async function decommissionCommand(id: string, opts: DecommissionOptions): Promise<number> {
  const client = new RpcClient({ connectTimeoutMs: 2000, defaultTimeoutMs: 12_000, ...opts.credentials });
  const until = Date.now() + opts.timeout;
  try {
    for (;;) {
      try {
        const res = await client.call(opts.address, Methods.Decommission, { nodeId: id });
        console.log(`${id} is removed from the cluster (committed at index ${num(res.index)} by leader ${res.leaderId}, epoch ${num(res.epoch)}); it has left the ring`);
        return 0;
      } catch (err) {
        if (err instanceof UnavailableError && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const what = errorText(err);
        console.error(`cannot decommission ${id} through ${opts.address}: ${what}`);
        return 1;
      }
    }
  } finally {
    client.destroy();
  }
}
