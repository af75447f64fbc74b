/**
 * The node's HTTP gateway (http/gateway.ts) wired to its data path: where it listens, the KvService over
 * the Coordinator (through the client API's RequestGate), the readiness rule, the node's metrics and its
 * status document for the status page.
 */
import type { ClientRequestObserver } from '../cluster/client-requests.js';
import type { RequestGate } from '../cluster/coordinator-api.js';
import type { Coordinator } from '../cluster/coordinator.js';
import type { ClusterState } from '../cluster/state/cluster-state.js';
import type { Registry } from 'prom-client';
import { startHttpGateway, type AnsweredRequest, type HttpGateway } from '../http/gateway.js';
import { formatAddress, parseAddress } from '../rpc/address.js';
import { CoordinatorKv } from './coordinator-kv.js';
import { nodeReadiness } from './node-readiness.js';
import type { NodeCredentials } from './node-security.js';
import { rateLimitedWarn } from '../rpc/logger.js';
import type { Logger } from '../rpc/logger.js';

/** Added to the RPC port when no HTTP address is given (7001 → 8001). */
export const HTTP_PORT_OFFSET = 1000;

/**
 * Where the gateway listens: `http` (host:port) if given, else the RPC host on the RPC port + 1000 (any
 * free port when the RPC port is 0); undefined for 'off'. Throws on a malformed address.
 */
export function httpListenAddress(http: string | undefined, rpc: { host: string; port: number }): { host: string; port: number } | undefined {
  if (http === 'off') return undefined;
  if (http !== undefined) return parseAddress(http, true);
  if (rpc.port === 0) return { host: rpc.host, port: 0 };
  const port = rpc.port + HTTP_PORT_OFFSET;
  if (port > 65535) throw new Error(`the default HTTP port (RPC port ${rpc.port} + ${HTTP_PORT_OFFSET}) is beyond 65535: give --http host:port or --http off`);
  return { host: rpc.host, port };
}

export interface NodeHttpOptions {
  nodeId: string;
  listen: { host: string; port: number };
  coordinator: Pick<Coordinator, 'get' | 'put' | 'del'>;
  gate: RequestGate;
  metrics: Registry;
  observe: ClientRequestObserver;
  /** The committed cluster state and the Raft leader id ('' when unknown), for /ready. */
  committed: () => { state: Pick<ClusterState, 'created' | 'members'>; leaderId: string };
  maxValueBytes: number;
  /** The coordinator's deadline: the gateway answers 504 only if a request outlives it by a second. */
  requestTimeoutMs: number;
  /** HTTPS and the callers it accepts, as on the RPC port. */
  credentials: NodeCredentials;
  logger: Logger;
  /** The document /status.json answers (tools/node-status.ts); the status page at / polls it. */
  status?: () => Promise<object>;
}

/** Logs refused HTTP requests, at most one line a second: a scanner must not flood the log. */
function refusalLog(logger: Logger): (remote: string, reason: string, requestId: string) => void {
  const warn = rateLimitedWarn(logger);
  return (remote, reason, requestId) => warn('refused HTTP request', { requestId, remote, reason });
}

/**
 * Every answered request at debug; a failure of the node itself (500) as an error, at most one line a second
 * (a failing store fails every request, and each line is a synchronous write to stderr).
 */
function answerLog(logger: Logger): (a: AnsweredRequest) => void {
  const failed = rateLimitedWarn({ ...logger, warn: (msg, fields) => logger.error(msg, fields) });
  return ({ requestId, method, op, status, ms, error }) => {
    const fields = { requestId, method, op, status, ms, ...(error === undefined ? {} : { code: error.code, error: error.message }) };
    if (status === 500) failed('HTTP request failed', fields);
    else logger.debug('HTTP request', fields);
  };
}

/** Starts the gateway; resolves with it, or with the reason it could not listen (EADDRINUSE, ...). */
export async function startNodeHttp(o: NodeHttpOptions): Promise<{ gateway: HttpGateway; url: string } | { error: string }> {
  try {
    const gateway = await startHttpGateway({
      host: o.listen.host,
      port: o.listen.port,
      kv: new CoordinatorKv(o.coordinator, o.gate, o.observe),
      readiness: () => {
        const c = o.committed();
        return nodeReadiness(o.nodeId, c.state, c.leaderId);
      },
      metrics: o.metrics,
      maxValueBytes: o.maxValueBytes,
      // The coordinator answers a typed error at its deadline; the gateway's timeout is only a backstop.
      requestTimeoutMs: o.requestTimeoutMs + 1000,
      ...(o.credentials.tls === undefined ? {} : { tls: o.credentials.tls }),
      ...(o.credentials.tokens === undefined ? {} : { tokens: o.credentials.tokens }),
      onRefused: refusalLog(o.logger),
      ...(o.status === undefined ? {} : { status: o.status }),
      onAnswered: answerLog(o.logger),
    });
    const scheme = o.credentials.tls === undefined ? 'http' : 'https';
    return { gateway, url: `${scheme}://${formatAddress({ host: gateway.host, port: gateway.port })}` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = formatAddress(o.listen);
    const why = e.code === 'EADDRINUSE' ? `port ${o.listen.port} is already in use (another node running? pick another --http address, or --http off)` : e.message;
    return { error: `cannot serve HTTP on ${where}: ${why}` };
  }
}
