import { performance } from 'node:perf_hooks';
import { RpcClient } from '../../rpc/client.js';
import { errorText } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { ClientCredentials } from '../client-credentials.js';

export interface PingOptions {
  count: number;
  timeout: number;
  interval: number;
  credentials?: ClientCredentials;
}

/** Pings a node `count` times and prints each round trip; exit code 0 only if every ping answered. */
export async function ping(address: string, opts: PingOptions): Promise<number> {
  const client = new RpcClient({ connectTimeoutMs: opts.timeout, defaultTimeoutMs: opts.timeout, ...opts.credentials });
  let ok = 0;
  try {
    for (let i = 1; i <= opts.count; i++) {
      const start = performance.now();
      try {
        const res = await client.call(address, Methods.Ping, { payload: Buffer.alloc(0) });
        const ms = performance.now() - start;
        console.log(`reply from ${address}: node=${res.nodeId} version=${res.serverVersion} seq=${i} time=${ms.toFixed(2)} ms`);
        ok++;
      } catch (err) {
        const what = errorText(err);
        console.log(`no reply from ${address}: seq=${i} ${what}`);
      }
      if (i < opts.count) await new Promise((r) => setTimeout(r, opts.interval));
    }
  } finally {
    client.destroy();
  }
  console.log(`${opts.count} sent, ${ok} answered`);
  return ok === opts.count ? 0 : 1;
}
