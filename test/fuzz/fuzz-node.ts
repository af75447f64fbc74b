/**
 * One real node for the wire fuzz targets: `mydatastore server` in its own process (so a crash shows as
 * an exit, not a failed assertion), on 127.0.0.1 with port 0 for RPC and HTTP, a temporary data
 * directory, a single-replica cluster (N = R = W = 1) it creates itself, fast Raft ticks. It is killed
 * and its directory removed at teardown. Before the fuzzing starts a sentinel key (32 random bytes,
 * which no fuzzed request can hit by chance) is written; `intact()` checks afterwards that the node is
 * still up, answers Ping and still reads the sentinel's value.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { Status } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { cli } from '../support/cli.js';
import { startNode, type Started } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

export const FUZZ_NODE_ID = 'fuzz-node';
export const FUZZ_CLUSTER_ID = 'fuzz';

const READY_LINE = /http gateway on http:\/\/127\.0\.0\.1:(\d+)[^\n]*\n(?:.*\n)*?.*listening on 127\.0\.0\.1:(\d+)/;

export interface FuzzNode {
  readonly process: Started;
  /** host:port of the RPC listener. */
  readonly rpc: string;
  readonly httpPort: number;
  readonly sentinelKey: Buffer;
  readonly sentinelValue: Buffer;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Throws unless the node is up, answers Ping and reads the sentinel's value back. */
  intact(): Promise<void>;
}

export async function startFuzzNode(t: Test): Promise<FuzzNode> {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const args = [
    'server', '--node-id', FUZZ_NODE_ID, '--cluster-id', FUZZ_CLUSTER_ID, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0',
    '--data', dir, '--bootstrap', '--replicas', '1', '--read-quorum', '1', '--write-quorum', '1',
    '--raft-tick', '20', '--epoch-interval', '1000',
  ];
  const started = await startNode(t, cli, args, READY_LINE);
  const m = READY_LINE.exec(started.output())!;
  const rpc = `127.0.0.1:${m[2]}`;
  const httpPort = Number(m[1]);
  t.teardown(() => {
    if (!t.passing()) process.stderr.write(`---- fuzz node output ----\n${started.output()}\n`);
  });
  const client = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 5000, backoffMaxMs: 50 });
  t.teardown(() => client.destroy());
  const sentinelKey = randomBytes(32);
  const sentinelValue = randomBytes(48);
  await waitFor(
    async () => {
      const res = await client.call(rpc, Methods.Put, { key: sentinelKey, value: sentinelValue, durable: true }).catch(() => undefined);
      return res?.status === Status.OK;
    },
    30_000,
    'the fuzz node to create its cluster and take a write',
  );
  const alive = (): boolean => started.child.exitCode === null && started.child.signalCode === null;
  return {
    process: started,
    rpc,
    httpPort,
    sentinelKey,
    sentinelValue,
    alive,
    intact: async () => {
      if (!alive()) throw new Error(`the node exited (${started.child.exitCode ?? started.child.signalCode})`);
      await client.call(rpc, Methods.Ping, { payload: Buffer.from('still there?') });
      const got = await client.call(rpc, Methods.Get, { key: sentinelKey });
      if (got.status !== Status.OK || !Buffer.from(got.value).equals(sentinelValue)) {
        throw new Error(`the sentinel key reads ${got.status === Status.OK ? 'another value' : `status ${got.status}`}`);
      }
    },
  };
}
