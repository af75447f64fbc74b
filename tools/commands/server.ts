import Long from 'long';
import { parseAddress } from '../../rpc/address.js';
import type { LogLevel } from '../../rpc/logger.js';
import { consoleLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { VERSION } from '../version.js';

export interface ServerCommandOptions {
  listen: string;
  nodeId: string;
  logLevel: LogLevel;
  maxFrameSize: number;
}

/**
 * Runs a node until SIGTERM/SIGINT, then shuts down gracefully. For now a node answers Ping; storage
 * and the cluster arrive with the LSM and cluster issues.
 */
export async function runServer(opts: ServerCommandOptions): Promise<void> {
  const log = consoleLogger(`node ${opts.nodeId}`, opts.logLevel);
  const { host, port } = parseAddress(opts.listen, true);
  const server = new RpcServer({ maxFrameSize: opts.maxFrameSize, logger: log });
  server.handle(Methods.Ping, (req) => ({
    nodeId: opts.nodeId,
    serverVersion: VERSION,
    serverTimeMs: Long.fromNumber(Date.now(), true),
    payload: req.payload,
  }));
  const addr = await server.listen(port, host);
  log.info(`listening on ${addr.address}:${addr.port} (mydatastore ${VERSION})`);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info(`${signal} received: draining in-flight requests and shutting down`);
      server.stop().then(resolve, (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        resolve();
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  log.info('stopped');
}
