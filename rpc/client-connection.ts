/**
 * One client socket carrying many requests at once, matched to responses by request id (any order).
 * Calls beyond maxInFlight, or made while the socket is backed up, wait in a bounded queue; when the
 * queue is full a call fails at once with OVERLOADED rather than growing memory.
 */
import net from 'node:net';
import tls from 'node:tls';
import { CancelledError, ConnectionError, decodeErrorDetail, OverloadedError, ProtocolError, TimeoutError } from './errors.js';
import type { RpcError } from './errors.js';
import type { Frame , FrameFormatError } from './frame.js';
import { encodeBehindHeader, encodePreface, Flag, FrameDecoder, HEADER_SIZE, writeFrameHeader } from './frame.js';
import { FrameWriter } from './frame-writer.js';
import { Methods } from './methods.js';
import type { AnyMethod, RequestIn, ResponseOf } from './methods.js';
import { checkNodeServer } from './security.js';
import { resetIfSelfConnected } from './self-connect.js';
import type { TlsMaterial } from './security.js';

export interface ConnectionOptions {
  maxFrameSize: number;
  maxInFlight: number;
  maxQueued: number;
  connectTimeoutMs: number;
  /** Connect with TLS: trust servers whose node certificate `ca` signed; show `cert` if given. */
  tls?: TlsMaterial | undefined;
  /** A client token, presented (Authenticate) before anything else on the connection. */
  token?: string | undefined;
}

export interface CallOptions {
  /** Give up after this many milliseconds (TimeoutError); the server is told, so it can drop the work. */
  timeoutMs?: number;
  /** Abort the call (CancelledError). The server may still carry it out. */
  signal?: AbortSignal;
}

interface Pending {
  id: number;
  method: AnyMethod;
  /** The request encoded behind room for its header (encodeBehindHeader); send() fills the header in. */
  frame: Buffer;
  deadline: number; // Date.now() ms, Infinity for none
  timeoutMs: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sent: boolean;
}

export type ConnectionState = 'connecting' | 'open' | 'draining' | 'closed';

export class ClientConnection {
  state: ConnectionState = 'connecting';
  /** True once the TCP connection was established (a close before that is a failed attempt). */
  opened = false;
  /** Set when the connection closed; why. */
  closeReason: RpcError | undefined;
  private readonly socket: net.Socket | tls.TLSSocket;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly inFlight = new Map<number, Pending>();
  private queue: Pending[] = [];
  private nextId = 1;
  private closeWaiters: (() => void)[] = [];
  private readonly connectTimer: NodeJS.Timeout;
  /**
   * One timer per connection, armed for the earliest deadline of any call, instead of a timer per call
   * (which costs a timer-list insert and removal on every request). When it fires it fails the expired
   * calls and re-arms for the next deadline.
   */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineTimerAt = Infinity;
  private readonly onDeadlineBound = () => this.onDeadline();

  constructor(
    readonly address: string,
    host: string,
    port: number,
    private readonly options: ConnectionOptions,
    /** Told when the connection opens, starts draining, or closes (see `state` and `opened`). */
    private readonly onStateChange: (conn: ClientConnection) => void,
  ) {
    this.decoder = new FrameDecoder(options.maxFrameSize);
    const t = options.tls;
    this.socket =
      t === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({
            host,
            port,
            ca: t.ca,
            ...(t.cert === undefined ? {} : { cert: t.cert }),
            ...(t.key === undefined ? {} : { key: t.key }),
            ...(net.isIP(host) === 0 ? { servername: host } : {}),
            minVersion: 'TLSv1.2',
            checkServerIdentity: checkNodeServer,
          });
    if (t !== undefined) this.socket.setNoDelay(true);
    this.writer = new FrameWriter(this.socket, () => {
      if (this.queue.length > 0) this.sendQueued();
    });
    this.connectTimer = setTimeout(
      () => this.fail(new ConnectionError(`connecting to ${address} timed out after ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    this.connectTimer.unref();
    this.socket.write(encodePreface());
    // First on the wire, so the server knows who we are before any request it has to check.
    if (options.token !== undefined) this.call(Methods.Authenticate, { token: options.token }).catch(() => {});
    // Over TLS, an error after the TCP connect and before the handshake finished is a refused handshake;
    // one before the TCP connect is an unreachable node, as without TLS.
    let tcpConnected = false;
    // Before the listener below, so that a socket connected to itself never counts as opened.
    this.socket.once('connect', () => {
      tcpConnected = true;
      if (resetIfSelfConnected(this.socket)) this.fail(new ConnectionError(`connection to ${address} failed: it reached its own socket (nothing listens there)`));
    });
    this.socket.on(t === undefined ? 'connect' : 'secureConnect', () => {
      if (this.state === 'closed') return;
      clearTimeout(this.connectTimer);
      this.opened = true;
      if (this.state === 'connecting') this.state = 'open';
      this.onStateChange(this);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: Error) => {
      if (t !== undefined && tcpConnected && !this.opened) this.fail(new ConnectionError(`TLS handshake with ${address} failed: ${err.message}`, { tlsRefused: true }));
      else this.fail(new ConnectionError(`connection to ${address} failed: ${err.message}`));
    });
    this.socket.on('close', () => this.fail(new ConnectionError(`connection to ${address} closed`)));
  }

  /** Requests in flight plus queued: the load used to pick a connection. */
  get load(): number {
    return this.inFlight.size + this.queue.length;
  }

  get usable(): boolean {
    return this.state === 'connecting' || this.state === 'open';
  }

  get hasRoom(): boolean {
    return this.inFlight.size < this.options.maxInFlight;
  }

  call<M extends AnyMethod>(method: M, request: RequestIn<M>, opts: CallOptions = {}): Promise<ResponseOf<M>> {
    if (!this.usable) {
      // Nothing of this call was written: whatever closed the connection, this request never left.
      const reason = this.closeReason;
      return Promise.reject(reason === undefined || reason instanceof ConnectionError ? ConnectionError.notSent(reason?.message ?? `connection to ${this.address} is closing`) : reason);
    }
    if (opts.signal?.aborted === true) return Promise.reject(new CancelledError('the call was aborted'));
    let frame: Buffer;
    try {
      frame = encodeBehindHeader(method.request, request);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (frame.length - HEADER_SIZE > this.options.maxFrameSize) {
      return Promise.reject(new OverloadedError(`request of ${frame.length - HEADER_SIZE} bytes exceeds the max frame size ${this.options.maxFrameSize}`));
    }
    const blocked = !this.hasRoom || this.writer.blocked || this.queue.length > 0;
    if (blocked && this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new OverloadedError(`${this.queue.length} requests already queued for ${this.address}`));
    }
    return new Promise<ResponseOf<M>>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 0;
      const p: Pending = {
        id: 0,
        method,
        frame,
        deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity,
        timeoutMs,
        resolve,
        reject,
        signal: opts.signal,
        onAbort: undefined,
        sent: false,
      };
      if (p.deadline < this.deadlineTimerAt) this.armDeadlineTimer(p.deadline);
      if (opts.signal !== undefined) {
        p.onAbort = () => this.settleError(p, new CancelledError('the call was aborted'));
        opts.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      if (blocked) this.queue.push(p);
      else this.send(p);
    });
  }

  /** Graceful close: no new calls; resolves after the in-flight and queued ones finish, then ends the socket. */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.state !== 'draining') {
      this.state = 'draining';
      this.endIfIdle();
    }
    if ((this.state as ConnectionState) === 'closed') return Promise.resolve(); // endIfIdle may have closed it
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Closes at once: everything in flight fails with ConnectionError. */
  destroy(): void {
    this.fail(new ConnectionError(`connection to ${this.address} was closed by the client`));
  }

  private send(p: Pending): void {
    p.id = this.allocateId();
    p.sent = true;
    this.inFlight.set(p.id, p);
    const timeoutMs = p.deadline === Infinity ? 0 : Math.max(1, Math.min(0xffffffff, p.deadline - Date.now()));
    this.writer.write(writeFrameHeader(p.frame, p.id, p.method.id, 0, 0, timeoutMs));
  }

  private sendQueued(): void {
    while (this.queue.length > 0 && this.hasRoom && !this.writer.blocked && this.state !== 'closed') {
      this.send(this.queue.shift()!);
    }
    this.endIfIdle();
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffffffff ? 1 : id + 1;
      if (!this.inFlight.has(id)) return id;
    }
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (;;) {
      let frame: Frame | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        const e = err as FrameFormatError;
        this.fail(new ProtocolError(`bad data from ${this.address}: ${e.message}`));
        return;
      }
      if (frame === undefined) break;
      this.onFrame(frame);
      if (this.state === 'closed') return;
    }
    this.sendQueued();
  }

  private onFrame(frame: Frame): void {
    if (frame.requestId === 0) {
      if ((frame.flags & Flag.GOAWAY) !== 0) {
        // The server drains: finish what is in flight here, new calls go to a new connection.
        if (this.state !== 'closed') this.state = 'draining';
        this.onStateChange(this);
        this.failQueued(ConnectionError.notSent(`${this.address} is shutting down`));
        this.endIfIdle();
      } else if ((frame.flags & Flag.ERROR) !== 0) {
        this.fail(decodeErrorDetail(frame.status, frame.payload));
      }
      return;
    }
    const p = this.inFlight.get(frame.requestId);
    if (p === undefined) return; // timed out or cancelled already: a late answer is dropped
    if ((frame.flags & Flag.ERROR) !== 0) {
      this.settleError(p, decodeErrorDetail(frame.status, frame.payload));
      return;
    }
    let response: unknown;
    try {
      response = p.method.response.decode(frame.payload);
    } catch (err) {
      this.settleError(p, new ProtocolError(`malformed ${p.method.name} response: ${(err as Error).message}`));
      return;
    }
    this.cleanup(p);
    p.resolve(response);
  }

  private armDeadlineTimer(at: number): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimerAt = at;
    this.deadlineTimer = setTimeout(this.onDeadlineBound, Math.max(0, at - Date.now()));
    this.deadlineTimer.unref();
  }

  private onDeadline(): void {
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const p of [...this.inFlight.values(), ...this.queue]) {
      if (p.deadline <= now) {
        this.settleError(p, new TimeoutError(`${p.method.name} to ${this.address} timed out after ${p.timeoutMs} ms`));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next !== Infinity && this.state !== 'closed') this.armDeadlineTimer(next);
  }

  private settleError(p: Pending, err: Error): void {
    if (!this.cleanup(p)) return;
    p.reject(err);
    this.endIfIdle();
  }

  /** Removes a call from the books; false if it was settled already. */
  private cleanup(p: Pending): boolean {
    if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
    p.onAbort = undefined;
    if (p.sent) {
      if (this.inFlight.get(p.id) !== p) return false;
      this.inFlight.delete(p.id);
      return true;
    }
    const i = this.queue.indexOf(p);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  private failQueued(err: Error): void {
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) {
      p.sent = true; // keeps cleanup from searching the emptied queue
      if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
      p.reject(err);
    }
  }

  private endIfIdle(): void {
    if (this.state === 'draining' && this.inFlight.size === 0 && this.queue.length === 0) {
      this.writer.flush();
      this.socket.end();
      this.markClosed(new ConnectionError(`connection to ${this.address} was closed`));
    }
  }

  private fail(err: RpcError): void {
    if (this.state === 'closed') return;
    clearTimeout(this.connectTimer);
    this.socket.destroy();
    this.markClosed(err);
    const inFlight = [...this.inFlight.values()];
    this.inFlight.clear();
    // Frames written before the TCP handshake completed never reached the server; queued calls were never
    // written at all. Only in-flight calls of a connection that opened may have been received.
    const unsent = err instanceof ConnectionError ? ConnectionError.notSent(err.message, err.tlsRefused) : err;
    const inFlightErr = err instanceof ConnectionError && !this.opened ? unsent : err;
    for (const p of inFlight) {
      if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
      p.reject(inFlightErr);
    }
    this.failQueued(unsent);
  }

  private markClosed(reason: RpcError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    clearTimeout(this.connectTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.onStateChange(this);
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }
}
