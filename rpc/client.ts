/**
 * rpc.Client: calls methods on nodes by address. Keeps a small pool of connections per address,
 * reconnects with jittered exponential backoff, and fails fast (ConnectionError) while an address is
 * known to be down instead of piling calls up behind it.
 */
import { parseAddress } from './address.js';
import type { CallOptions, ConnectionOptions } from './client-connection.js';
import { ClientConnection } from './client-connection.js';
import { ConnectionError, InvalidArgumentError } from './errors.js';
import { DEFAULT_MAX_FRAME_SIZE } from './frame.js';
import type { AnyMethod, RequestIn, ResponseOf } from './methods.js';
import type { TlsMaterial } from './security.js';

export type { CallOptions } from './client-connection.js';

export interface ClientOptions {
  /** Connections per address (default 1: one connection multiplexes thousands of requests). */
  poolSize?: number;
  /** Requests in flight per connection before calls queue (default 1024). */
  maxInFlightPerConnection?: number;
  /** Calls that may wait per connection when it is full (default 4096); beyond that OVERLOADED. */
  maxQueuedPerConnection?: number;
  maxFrameSize?: number;
  connectTimeoutMs?: number;
  /** Timeout of a call that sets none (default 10 s; 0 = none). */
  defaultTimeoutMs?: number;
  /** Backoff after failed connection attempts: min(max, base * 2^failures) * random (full jitter). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Random source in [0, 1) for the jitter (injected in tests). */
  random?: () => number;
  /**
   * Where to connect for an address (default: the address itself). The fault-injection harness routes
   * a node's traffic to each peer through a proxy of its own this way (test/faults/).
   */
  dial?: (address: string) => string;
  /** Connect with TLS (rpc/SECURITY.md): the cluster CA, and this client's certificate and key if it has one. */
  tls?: TlsMaterial;
  /** A client token, presented once on each connection (with TLS only: a token is a password). */
  token?: string;
}

/** Connections to one address and its reconnect state. */
class Endpoint {
  conns: ClientConnection[] = [];
  failures = 0;
  retryAt = 0; // Date.now() before which no new connection is attempted
}

export class RpcClient {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly connOptions: ConnectionOptions;
  private readonly poolSize: number;
  private readonly defaultTimeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;
  private readonly dial: (address: string) => string;
  private closed = false;

  constructor(options: ClientOptions = {}) {
    if (options.token !== undefined && options.tls === undefined) throw new InvalidArgumentError('a token needs tls: without it the token would cross the network in clear text');
    this.connOptions = {
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxInFlight: options.maxInFlightPerConnection ?? 1024,
      maxQueued: options.maxQueuedPerConnection ?? 4096,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      tls: options.tls,
      token: options.token,
    };
    this.poolSize = Math.max(1, options.poolSize ?? 1);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 50;
    this.backoffMaxMs = options.backoffMaxMs ?? 5000;
    this.random = options.random ?? Math.random;
    this.dial = options.dial ?? ((a) => a);
  }

  call<M extends AnyMethod>(address: string, method: M, request: RequestIn<M>, opts: CallOptions = {}): Promise<ResponseOf<M>> {
    if (this.closed) return Promise.reject(ConnectionError.notSent('the client is closed'));
    let conn: ClientConnection;
    try {
      conn = this.connectionFor(address);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return conn.call(method, request, opts.signal === undefined ? { timeoutMs } : { timeoutMs, signal: opts.signal });
  }

  /** Graceful: refuses new calls, lets in-flight ones finish, then closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.endpoints.values()].flatMap((e) => e.conns);
    await Promise.all(all.map((c) => c.close()));
    this.endpoints.clear();
  }

  /** Closes every connection at once; calls in flight fail with ConnectionError. */
  destroy(): void {
    this.closed = true;
    for (const e of this.endpoints.values()) for (const c of e.conns) c.destroy();
    this.endpoints.clear();
  }

  private connectionFor(address: string): ClientConnection {
    let ep = this.endpoints.get(address);
    if (ep === undefined) {
      parseAddress(address); // a clear error for a malformed address, before any state is kept
      ep = new Endpoint();
      this.endpoints.set(address, ep);
    }
    let best: ClientConnection | undefined;
    for (const c of ep.conns) if (c.usable && (best === undefined || c.load < best.load)) best = c;
    if (best !== undefined && (best.hasRoom || ep.conns.length >= this.poolSize)) return best;
    const now = Date.now();
    if (now < ep.retryAt) {
      if (best !== undefined) return best;
      throw ConnectionError.notSent(`${address} is unreachable (${ep.failures} failed attempts); next attempt in ${ep.retryAt - now} ms`);
    }
    const { host, port } = parseAddress(this.dial(address));
    const endpoint = ep;
    const conn = new ClientConnection(address, host, port, this.connOptions, (c) => this.onStateChange(endpoint, c));
    ep.conns.push(conn);
    return conn;
  }

  private onStateChange(ep: Endpoint, conn: ClientConnection): void {
    if (conn.state === 'open') {
      ep.failures = 0;
      ep.retryAt = 0;
    } else if (conn.state === 'closed') {
      ep.conns = ep.conns.filter((c) => c !== conn);
      if (!conn.opened) {
        // Only failed attempts back off: a connection that was up and broke is retried at once.
        ep.failures++;
        const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(ep.failures - 1, 20));
        ep.retryAt = Date.now() + Math.floor(ceiling * this.random());
      }
    }
  }
}
