/**
 * `mydatastore put KEY VALUE`, `get KEY`, `del KEY`: the client API from the shell, through the
 * TypeScript client (client/). Exit codes: 0 success; 1 `get` of a key that has no value; 2 anything
 * else that went wrong (bad arguments, no node reachable, quorum not reached, timeout).
 */
import { Client } from '../../client/client.js';
import type { Consistency } from '../../client/consistency.js';
import { ConnectionError, RpcError } from '../../rpc/errors.js';
import type { ClientCredentials } from '../client-credentials.js';

export interface KvCommandOptions {
  /** Nodes to send the request to (the first that answers coordinates it). */
  node: string[];
  consistency?: Consistency;
  timeout: number;
  /** put and del: each replica fdatasyncs before it acknowledges. */
  durable?: boolean;
  credentials?: ClientCredentials;
}

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_ERROR = 2;

type Op = { kind: 'put'; key: string; value: string } | { kind: 'get'; key: string } | { kind: 'del'; key: string };

export async function kvCommand(op: Op, opts: KvCommandOptions): Promise<number> {
  let client: Client;
  try {
    client = new Client({ seeds: opts.node, defaultDeadlineMs: opts.timeout, connectTimeoutMs: Math.min(opts.timeout, 5000), ...opts.credentials });
  } catch (err) {
    return fail(err, opts);
  }
  const req = opts.consistency === undefined ? {} : { consistency: opts.consistency };
  try {
    switch (op.kind) {
      case 'put':
        await client.put(op.key, op.value, { ...req, durable: opts.durable === true });
        console.log('OK');
        return EXIT_OK;
      case 'del':
        await client.del(op.key, { ...req, durable: opts.durable === true });
        console.log('OK');
        return EXIT_OK;
      case 'get': {
        const value = await client.get(op.key, req);
        if (value === undefined) {
          console.error(`(not found) the key ${JSON.stringify(op.key)} has no value`);
          return EXIT_NOT_FOUND;
        }
        // The value's exact bytes; a newline only for a person at a terminal.
        await new Promise<void>((resolve, reject) => process.stdout.write(value, (err) => (err ? reject(err) : resolve())));
        if (process.stdout.isTTY) process.stdout.write('\n');
        return EXIT_OK;
      }
    }
  } catch (err) {
    return fail(err, opts);
  } finally {
    await client.close();
  }
}

function fail(err: unknown, opts: KvCommandOptions): number {
  if (err instanceof RpcError) {
    const extra = err.acks !== undefined ? ` (${err.acks} of ${err.required ?? '?'} replicas acknowledged)` : '';
    console.error(`error: ${err.code}: ${err.message}${extra}`);
    if (err instanceof ConnectionError && !err.tlsRefused) {
      const tlsHint = opts.credentials?.tls === undefined ? '; a node that uses TLS also needs --tls-ca' : '';
      console.error(`is a node running at ${opts.node.join(', ')}? (set --node or MYDATASTORE_NODE${tlsHint})`);
    }
  } else {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return EXIT_ERROR;
}
