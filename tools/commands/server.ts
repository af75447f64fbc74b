import { mkdirSync } from 'node:fs';
import Long from 'long';
import { MembershipDriver } from '../../cluster/membership/driver.js';
import type { MembershipConfig } from '../../cluster/membership/types.js';
import { formatAddress, parseAddress } from '../../rpc/address.js';
import { RpcClient } from '../../rpc/client.js';
import type { LogLevel } from '../../rpc/logger.js';
import { consoleLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { VERSION } from '../version.js';

export interface ServerCommandOptions {
  listen: string;
  nodeId: string;
  clusterId: string;
  seeds: string[];
  zone?: string;
  data?: string;
  logLevel: LogLevel;
  maxFrameSize: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  pushPullIntervalMs?: number;
  leaveTimeoutMs: number;
}

/**
 * Runs a node until SIGTERM/SIGINT: the RPC server (Ping), SWIM membership (Gossip, Members). On a signal
 * it leaves the cluster gracefully, drains in-flight requests and exits 0. Storage arrives with the LSM
 * integration; `--data` is created now so that the layout of a local cluster is already the final one.
 */
export async function runServer(opts: ServerCommandOptions): Promise<void> {
  const log = consoleLogger(`node ${opts.nodeId}`, opts.logLevel);
  const { host, port } = parseAddress(opts.listen, true);
  if (opts.data !== undefined) mkdirSync(opts.data, { recursive: true });
  const server = new RpcServer({ maxFrameSize: opts.maxFrameSize, logger: log });
  server.handle(Methods.Ping, (req) => ({
    nodeId: opts.nodeId,
    serverVersion: VERSION,
    serverTimeMs: Long.fromNumber(Date.now(), true),
    payload: req.payload,
  }));
  let addr;
  try {
    addr = await server.listen(port, host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `port ${port} is already in use (another node running? pick another --listen port)` : e.message;
    log.error(`cannot listen on ${opts.listen}: ${why}`);
    process.exitCode = 1;
    return;
  }
  const address = formatAddress({ host: addr.address, port: addr.port });
  log.info(`listening on ${address} (mydatastore ${VERSION})`);

  const probeTimeoutMs = opts.probeTimeoutMs ?? (opts.probeIntervalMs === undefined ? undefined : Math.max(1, Math.floor(opts.probeIntervalMs / 2)));
  const config: Partial<MembershipConfig> = {
    ...(opts.probeIntervalMs === undefined ? {} : { probeIntervalMs: opts.probeIntervalMs }),
    ...(probeTimeoutMs === undefined ? {} : { probeTimeoutMs }),
    ...(opts.pushPullIntervalMs === undefined ? {} : { pushPullIntervalMs: opts.pushPullIntervalMs }),
  };
  const membership = new MembershipDriver({
    id: opts.nodeId,
    address,
    clusterId: opts.clusterId,
    seeds: opts.seeds.filter((s) => s !== address),
    meta: opts.zone === undefined || opts.zone === '' ? {} : { zone: opts.zone },
    config,
    server,
    client: new RpcClient({ connectTimeoutMs: 2000, backoffMaxMs: 1000 }),
    logger: log,
    leaveTimeoutMs: opts.leaveTimeoutMs,
  });
  membership.start();

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.info(`${signal} received: already shutting down`);
        return;
      }
      stopping = true;
      log.info(`${signal} received: draining in-flight requests, leaving the cluster and shutting down`);
      membership
        .stop()
        .then(() => server.stop())
        .then(resolve, (err: unknown) => {
          log.error('shutdown failed', { error: String(err) });
          process.exitCode = 1;
          resolve();
        });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
  log.info('stopped');
}
