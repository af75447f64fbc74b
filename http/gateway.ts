/**
 * The HTTP gateway: node's own `http` module beside the protobuf API, for curl users. Endpoints (see
 * http/HTTP.md): /kv/{key}, the original project's /set and /get, /health, /ready, /metrics and, when the
 * node gives its status, the status page at / with the /status.json it polls.
 * Every request is answered — bad input with a 4xx and a JSON error, a handler failure with a 500 —
 * and the process never crashes on what a client sends.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../tools/metrics.js';
import type { TlsMaterial, TokenTable } from '../rpc/security.js';
import { callerProblem } from './credentials.js';
import { gatewayTimeout, methodNotAllowed, noRoute, toErrorAnswer, unauthenticated } from './http-errors.js';
import type { ErrorAnswer } from './http-errors.js';
import { allowHeader, handleKv, handleLegacyGet, handleLegacySet, sendJson } from './kv-routes.js';
import type { KvContext } from './kv-routes.js';
import type { KvService } from './kv-service.js';
import { parseTarget } from './request.js';
import { sendStatusJson, sendStatusPage } from './status-page.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';

export interface Readiness {
  ready: boolean;
  /** Why not, for the /ready answer and the operator. */
  why?: string;
}

export interface HttpGatewayOptions {
  /** Port to listen on (0 = any free port; see `port` of the result). */
  port: number;
  host?: string;
  kv: KvService;
  /** Ready = a member of a committed ring with a known Raft leader (the node decides). */
  readiness: () => Readiness;
  /** The node's prom-client registry: /metrics serves it, and the gateway adds its own HTTP metrics to it. */
  metrics: Registry;
  /** Largest accepted PUT body (default 1 MiB); beyond it, 413. */
  maxValueBytes?: number;
  /** A KV request not done after this long is answered 504 and its signal aborted (default 30 s). */
  requestTimeoutMs?: number;
  /** close() waits this long for requests in flight before cutting connections (default 5 s). */
  shutdownTimeoutMs?: number;
  /** HTTPS with this certificate and key; clients may show a certificate `ca` signed (rpc/SECURITY.md). */
  tls?: TlsMaterial & { cert: string | Buffer; key: string | Buffer };
  /** Bearer tokens accepted in `Authorization`. With `tls` or `tokens`, all but /health and /ready need credentials. */
  tokens?: TokenTable;
  /** The node's status document for /status.json (tools/node-status.ts); without it, / and /status.json are 404. */
  status?: () => Promise<object>;
  /** Told of each refused request, for the node's log. */
  onRefused?: (remote: string, reason: string, requestId: string) => void;
  /** Told of each answered request (also refused and failed ones), for the node's log. */
  onAnswered?: (answer: AnsweredRequest) => void;
}

/** One answered request, as the node's log sees it (no key: keys may be private). */
export interface AnsweredRequest {
  /** The caller's X-Request-Id, or the one the gateway made; echoed in the response. */
  requestId: string;
  method: string;
  /** get, put, del, health, ready, metrics or other. */
  op: string;
  status: number;
  ms: number;
  /** The error answered, if the answer is one. */
  error?: ErrorAnswer;
}

export interface HttpGateway {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (up to shutdownTimeoutMs), closes every connection. */
  close(): Promise<void>;
}

interface GatewayMetrics {
  requests: Counter;
  latency: Histogram;
}

/** The gateway's metrics in `r`, created by the first gateway on that registry and shared by the next. */
function gatewayMetrics(r: Registry): GatewayMetrics {
  const requests = r.getSingleMetric('mydatastore_http_requests_total');
  const latency = r.getSingleMetric('mydatastore_http_request_duration_seconds');
  return {
    requests: requests instanceof Counter ? requests : new Counter({ name: 'mydatastore_http_requests_total', help: 'HTTP requests answered, by operation and HTTP status.', labelNames: ['op', 'status'], registers: [r] }),
    latency:
      latency instanceof Histogram
        ? latency
        : new Histogram({ name: 'mydatastore_http_request_duration_seconds', help: 'HTTP request latency in seconds, by operation.', labelNames: ['op'], buckets: [...LATENCY_BUCKETS], registers: [r] }),
  };
}

export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const host = options.host ?? '127.0.0.1';
  const maxValueBytes = options.maxValueBytes ?? 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const m = gatewayMetrics(options.metrics);
  const checksCredentials = options.tls !== undefined || options.tokens !== undefined;

  const current = new WeakMap<object, ServerResponse>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    let failure: ErrorAnswer | undefined;
    const abort = new AbortController();
    res.once('close', () => abort.abort(new Error('the HTTP client went away')));
    const ctx: KvContext = { kv: options.kv, maxValueBytes, signal: abort.signal };
    let op = 'other';
    current.set(req.socket, res);
    try {
      const target = parseTarget(req.url);
      // Only PUT /kv/ reads a body; any other body is drained so the connection stays in step.
      if (!(req.method === 'PUT' && target.path.startsWith('/kv/'))) req.resume();
      if (checksCredentials && target.path !== '/health' && target.path !== '/ready') {
        const problem = callerProblem(req, options.tokens);
        if (problem !== undefined) {
          options.onRefused?.(`${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`, problem, requestId);
          throw unauthenticated(problem);
        }
      }
      if (target.path === '/health' || target.path === '/ready' || target.path === '/metrics') {
        op = target.path.slice(1);
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method ?? '?', 'GET, HEAD');
        if (target.path === '/health') sendText(res, 200, 'healthy\n');
        else if (target.path === '/ready') ready(res, options.readiness);
        else sendText(res, 200, await options.metrics.metrics(), options.metrics.contentType);
        return;
      }
      if (options.status !== undefined && (target.path === '/' || target.path === '/status.json')) {
        op = target.path === '/' ? 'page' : 'status';
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method ?? '?', 'GET, HEAD');
        if (target.path === '/') sendStatusPage(res);
        else await sendStatusJson(res, options.status);
        return;
      }
      let work: Promise<void>;
      if (target.path.startsWith('/kv/')) work = handleKv(req, res, target, ctx);
      else if (target.path === '/set') work = handleLegacySet(req, res, target, ctx);
      else if (target.path === '/get') work = handleLegacyGet(req, res, target, ctx);
      else throw noRoute(target.path.slice(0, 200));
      await withTimeout(work, requestTimeoutMs, abort);
    } catch (err) {
      failure = toErrorAnswer(err);
      if (!res.headersSent) {
        const e = failure;
        sendJson(res, e.httpStatus, { error: { code: e.code, message: e.message } }, allowHeader(e.code, req.url?.startsWith('/kv/') === true ? 'GET, HEAD, PUT, DELETE' : 'GET, HEAD'));
        if (e.code === 'HTTP_PAYLOAD_TOO_LARGE') res.once('finish', () => req.destroy());
      } else {
        res.destroy();
      }
    } finally {
      const label = ctx.op ?? op;
      m.requests.inc({ op: label, status: res.headersSent ? res.statusCode : 500 });
      m.latency.observe({ op: label }, (performance.now() - started) / 1000);
      const status = res.headersSent ? res.statusCode : 500;
      options.onAnswered?.({ requestId, method: req.method ?? '?', op: label, status, ms: Math.round(performance.now() - started), ...(failure === undefined ? {} : { error: failure }) });
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.destroy());
  };
  const server =
    options.tls === undefined
      ? http.createServer({ requestTimeout: requestTimeoutMs + 5000 }, onRequest)
      : https.createServer(
          { ...options.tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', handshakeTimeout: 10_000, requestTimeout: requestTimeoutMs + 5000 },
          onRequest,
        );
  // Unparseable HTTP: answer 400 when the socket can still take it, never throw.
  server.on('clientError', (_err, socket) => {
    if (socket.writable && current.get(socket)?.headersSent !== true) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), shutdownTimeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}

function ready(res: ServerResponse, readiness: () => Readiness): void {
  const r = readiness();
  if (r.ready) sendText(res, 200, 'ready\n');
  else sendText(res, 503, `not ready: ${r.why ?? 'unknown reason'}\n`);
}

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The handler's promise, or a 504 once the timeout passes (the KV call's signal is aborted then). */
function withTimeout(work: Promise<void>, ms: number, abort: AbortController): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort(new Error('the gateway request timeout passed'));
      reject(gatewayTimeout(ms));
    }, ms);
  });
  // A late failure of the abandoned handler must not surface as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
