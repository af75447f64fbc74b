/**
 * rpc.Server: accepts connections, decodes frames, dispatches each request to the handler registered
 * for its method, and writes the response frame. Limits keep one bad or slow client from hurting the
 * process: max frame size, max requests in flight per connection, max connections, idle timeout.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { RpcError, InternalError, Status } from './errors.js';
import { DEFAULT_MAX_FRAME_SIZE } from './frame.js';
import type { Logger } from './logger.js';
import { rateLimitedWarn, silentLogger } from './logger.js';
import type { AnyMethod, RequestOf, ResponseIn } from './methods.js';
import type { Identity, TlsMaterial, TokenTable } from './security.js';
import { ServerConnection } from './server-connection.js';

export interface ServerOptions {
  /** Largest accepted frame payload in bytes (default 16 MiB). */
  maxFrameSize?: number;
  /** Requests one connection may have in flight; further frames wait in the socket (default 1024). */
  maxInFlightPerConnection?: number;
  /** Connections beyond this are refused with OVERLOADED (default 10,000). */
  maxConnections?: number;
  /**
   * Requests in flight on all connections together; beyond it a request is answered OVERLOADED at once
   * (default 8192). The per-connection cap slows one client down; this one sheds load from all of them.
   */
  maxInFlightTotal?: number;
  /** Payload bytes of the requests in flight on all connections together; beyond it, OVERLOADED (default 256 MiB). */
  maxInFlightBytes?: number;
  /** A connection with nothing in flight for this long is closed (default 5 minutes; 0 = never). */
  idleTimeoutMs?: number;
  /** stop() waits this long for in-flight requests before it closes connections anyway (default 10 s). */
  shutdownTimeoutMs?: number;
  logger?: Logger;
  /**
   * TLS on every connection, with this certificate and key; clients may show a certificate of `ca`
   * (mutual TLS). With `tls` or `tokens`, every method but the open ones needs credentials (rpc/SECURITY.md).
   */
  tls?: TlsMaterial & { cert: string | Buffer; key: string | Buffer };
  /** Client tokens accepted by the Authenticate method. */
  tokens?: TokenTable;
}

export interface CallContext {
  readonly method: string;
  /** performance.now() time after which the caller has given up; Infinity when it set no deadline. */
  readonly deadline: number;
  readonly remoteAddress: string;
  /** Who called, when the server checks credentials (undefined in development mode). */
  readonly identity: Identity | undefined;
  /** Aborted when the deadline passes or the connection closes (created on first use). */
  readonly signal: AbortSignal;
}

export type Handler<M extends AnyMethod> = (
  request: RequestOf<M>,
  ctx: CallContext,
) => ResponseIn<M> | Promise<ResponseIn<M>>;

export interface Registered {
  method: AnyMethod;
  handler: Handler<AnyMethod>;
}

export interface ServerStats {
  connections: number;
  inFlight: number;
  /** Payload bytes of the requests in flight. */
  inFlightBytes: number;
  /** Requests answered OVERLOADED because the node-wide in-flight limits were reached. */
  shed: number;
  /** Response bytes queued for slow readers, summed over connections. */
  bufferedBytes: number;
  /** Connections whose reading is paused by backpressure or the in-flight cap. */
  pausedConnections: number;
}

export class RpcServer {
  readonly maxFrameSize: number;
  readonly maxInFlight: number;
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  /** For what an outsider can make happen at will: at most one line a second per message. */
  readonly warnLimited: (msg: string, fields?: Record<string, unknown>) => void;
  /** Whether methods check the caller's credentials (TLS or tokens configured). */
  readonly checksCredentials: boolean;
  readonly tokens: TokenTable | undefined;
  private readonly maxConnections: number;
  readonly maxInFlightTotal: number;
  readonly maxInFlightBytes: number;
  /** Requests in flight on all connections and their payload bytes (ServerConnection keeps them). */
  inFlightTotal = 0;
  inFlightBytes = 0;
  /** Requests answered OVERLOADED by the two node-wide limits. */
  shed = 0;
  private readonly shutdownTimeoutMs: number;
  private readonly handlers = new Map<number, Registered>();
  private readonly connections = new Set<ServerConnection>();
  private readonly server: net.Server | tls.Server;
  private stopping: Promise<void> | undefined;

  constructor(options: ServerOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxInFlight = options.maxInFlightPerConnection ?? 1024;
    this.maxConnections = options.maxConnections ?? 10_000;
    this.maxInFlightTotal = options.maxInFlightTotal ?? 8192;
    this.maxInFlightBytes = options.maxInFlightBytes ?? 256 * 1024 * 1024;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60_000;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.warnLimited = rateLimitedWarn(this.logger);
    this.tokens = options.tokens;
    this.checksCredentials = options.tls !== undefined || options.tokens !== undefined;
    if (options.tls === undefined) {
      this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    } else {
      // Ask for a client certificate but do not require one: clients may authenticate with a token instead,
      // and Ping stays open. Each method checks what the handshake proved (ServerConnection). No half-open
      // connections over TLS: a peer that gives up during the handshake would leave its socket open forever.
      const server = tls.createServer(
        { ...options.tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', handshakeTimeout: 10_000, noDelay: true },
        (socket) => this.accept(socket),
      );
      this.server = server;
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        // A peer that hangs up mid-handshake is most often one that does not trust our certificate.
        const reason = (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? `${err.message} (the peer hung up: does it trust this node's CA?)` : err.message.trim();
        const remote = socket.remoteAddress === undefined ? {} : { remote: `${socket.remoteAddress}:${socket.remotePort ?? '?'}` };
        this.warnLimited('connection refused: TLS handshake failed', { ...remote, reason });
        socket.destroy(); // with a listener here, Node leaves the socket to us
      });
    }
    this.server.on('error', (err: Error) => this.logger.error('listener error', { error: err.message }));
  }

  /** Registers the handler of one method; a method has at most one handler. */
  /**
   * While true, a request for a method with no handler yet is answered UNAVAILABLE ("starting", retry)
   * instead of UNKNOWN_METHOD: a node listens before its last services are wired (it must, to learn
   * its address), and a client must not take that window for "this node will never serve it".
   */
  starting = false;

  handle<M extends AnyMethod>(method: M, handler: Handler<M>): this {
    if (this.handlers.has(method.id)) throw new Error(`a handler for ${method.name} is already registered`);
    this.handlers.set(method.id, { method, handler: handler as Handler<AnyMethod> });
    return this;
  }

  handlerFor(methodId: number): Registered | undefined {
    return this.handlers.get(methodId);
  }

  /** Starts listening; port 0 picks a free port (see `address`). */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.address);
      });
    });
  }

  get address(): AddressInfo {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('server is not listening');
    return a;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  stats(): ServerStats {
    let inFlight = 0;
    let bufferedBytes = 0;
    let pausedConnections = 0;
    for (const c of this.connections) {
      inFlight += c.inFlight;
      bufferedBytes += c.bufferedBytes;
      if (c.paused) pausedConnections++;
    }
    return { connections: this.connections.size, inFlight, inFlightBytes: this.inFlightBytes, shed: this.shed, bufferedBytes, pausedConnections };
  }

  /**
   * Graceful shutdown: stop accepting, tell every client GOAWAY, let in-flight requests finish (up to
   * shutdownTimeoutMs), then close the connections. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.goAway();
    const deadline = performance.now() + this.shutdownTimeoutMs;
    await Promise.race([
      Promise.all([...this.connections].map((c) => c.drained())),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())).unref()),
    ]);
    for (const c of this.connections) c.close();
    await closed;
  }

  /** Called by a connection when its socket is gone. */
  forget(conn: ServerConnection): void {
    this.connections.delete(conn);
  }

  private accept(socket: net.Socket): void {
    const conn = new ServerConnection(this, socket);
    if (this.stopping !== undefined) {
      conn.refuse(Status.SHUTTING_DOWN, 'the server is shutting down');
      return;
    }
    // A node of the cluster is always let in: callers without credentials must not be able to fill every
    // slot and cut the cluster's own gossip and Raft.
    if (this.connections.size >= this.maxConnections && conn.role !== 'node') {
      this.logger.warn('connection refused: too many connections', { remote: conn.remoteAddress });
      conn.refuse(Status.OVERLOADED, `the server has reached its limit of ${this.maxConnections} connections`);
      return;
    }
    this.connections.add(conn);
  }
}

/** Turns anything a handler threw into the error that goes on the wire (logging what was not an RpcError). */
export function toRpcError(err: unknown, logger: Logger, method: string, requestId?: number): RpcError {
  if (err instanceof RpcError) return err;
  logger.error('handler failed', { method, requestId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return new InternalError(err instanceof Error ? err.message : String(err));
}
