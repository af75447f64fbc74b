/**
 * One accepted connection: reads frames while it has room (in-flight cap, write backpressure), runs
 * handlers, writes responses. Reading pauses whenever it has no room, so a client that floods requests
 * or never reads its responses holds at most maxInFlight requests and a bounded write buffer here.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { ConnectionError, encodeErrorDetail, Status, TimeoutError } from './errors.js';
import type { RpcError } from './errors.js';
import type { Frame } from './frame.js';
import { encodeBehindHeader, encodeFrame, encodePreface, Flag, FrameDecoder, FrameFormatError, writeFrameHeader } from './frame.js';
import { FrameWriter } from './frame-writer.js';
import { methodById, Methods } from './methods.js';
import { accessDenial, certificateIdentity } from './security.js';
import type { Identity } from './security.js';
import type { CallContext, RpcServer } from './server.js';
import { toRpcError } from './server.js';

/** Per-request context; the AbortController and its timer exist only if a handler asks for `signal`. */
class Call implements CallContext {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly method: string,
    readonly deadline: number,
    readonly remoteAddress: string,
    readonly identity: Identity | undefined,
    /** Payload bytes, counted against the server's in-flight byte budget until the call completes. */
    readonly bytes: number,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      const left = this.deadline - performance.now();
      if (left <= 0) this.abort(new TimeoutError('deadline passed'));
      else if (Number.isFinite(left)) {
        this.timer = setTimeout(() => this.abort(new TimeoutError('deadline passed')), left);
        this.timer.unref();
      }
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.controller?.abort(reason);
    this.done();
  }

  done(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Never shed by the node-wide limits: a flood of client requests must not cost the cluster its failure
 * detector or its Raft leader, and a liveness check must still answer.
 */
const CONTROL_PLANE = new Set<number>([Methods.Ping.id, Methods.Gossip.id, Methods.Raft.id, Methods.Members.id, Methods.Status.id]);

export class ServerConnection {
  readonly remoteAddress: string;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly calls = new Map<number, Call>();
  private goingAway = false;
  private peerEnded = false;
  private closed = false;
  private isPaused = false;
  private drainWaiters: (() => void)[] = [];
  /** Who the peer proved to be (certificate or token), and what was wrong with a certificate it showed. */
  private identity: Identity | undefined;
  private certificateProblem: string | undefined;
  private refusals = 0;

  constructor(
    private readonly server: RpcServer,
    private readonly socket: net.Socket,
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(server.maxFrameSize);
    this.writer = new FrameWriter(socket, () => {
      if (this.isPaused && !this.closed) this.pump();
    });
    socket.setNoDelay(true);
    if ((socket as TLSSocket).encrypted === true) {
      const check = certificateIdentity(socket as TLSSocket);
      this.identity = check.identity;
      this.certificateProblem = check.problem;
    }
    socket.write(encodePreface());
    if (server.idleTimeoutMs > 0) socket.setTimeout(server.idleTimeoutMs, () => this.onIdle());
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return; // given up on: what still arrives is dropped unread
      this.decoder.push(chunk);
      this.pump();
    });
    // The client half-closed: it sends nothing more, but still reads the answers to what it sent.
    socket.on('end', () => {
      this.peerEnded = true;
      if (this.calls.size === 0) this.close();
    });
    socket.on('error', (err) => this.server.logger.debug('connection error', { remote: this.remoteAddress, error: err.message }));
    socket.on('close', () => this.onClose());
  }

  get inFlight(): number {
    return this.calls.size;
  }

  get bufferedBytes(): number {
    return this.writer.bufferedBytes + this.decoder.bufferedBytes;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The role the TLS handshake proved (a token comes later), for admission. */
  get role(): Identity['role'] | undefined {
    return this.identity?.role;
  }

  /** Refuses a connection we will not serve: preface, one connection-level error frame, close. */
  refuse(status: Status, message: string): void {
    this.sendError(0, 0, status, message);
    this.endNow();
  }

  /**
   * Stops reading and dispatching at once, sends what is queued, and closes. `closed` is set first: the
   * writer's drain callback must not pump a stream we have given up on (it would dispatch, or fail again
   * on the same bad header, recursively).
   */
  private endNow(): void {
    this.goingAway = true;
    this.closed = true;
    this.writer.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.abortAll();
  }

  /** Tells the client to send no more requests here; requests in flight are still answered. */
  goAway(): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.writer.write(encodeFrame(0, 0, Flag.GOAWAY | Flag.RESPONSE, Status.SHUTTING_DOWN, 0, new Uint8Array(0)));
  }

  /** Resolves once nothing is in flight. */
  drained(): Promise<void> {
    if (this.calls.size === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Flushes what is queued and closes; in-flight handlers' results are dropped. */
  close(): void {
    if (this.closed) return;
    this.writer.flush();
    this.socket.end();
    // A peer that never reads would keep the socket half-open: cut it after a grace period.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Reads and dispatches frames while there is room, and pauses the socket when there is not. */
  private pump(): void {
    while (!this.closed) {
      if (this.calls.size >= this.server.maxInFlight || this.writer.blocked) {
        if (!this.isPaused) {
          this.isPaused = true;
          this.socket.pause();
        }
        return;
      }
      let frame: Frame | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        this.protocolViolation(err as FrameFormatError);
        return;
      }
      if (frame === undefined) break;
      this.dispatch(frame);
    }
    if (this.isPaused && !this.closed) {
      this.isPaused = false;
      this.socket.resume();
    }
  }

  private dispatch(frame: Frame): void {
    const { requestId, method } = frame;
    if ((frame.flags & Flag.RESPONSE) !== 0 || requestId === 0) {
      if (method === 0 && (frame.flags & Flag.GOAWAY) !== 0) return; // the client is leaving: fine
      this.protocolViolation(new FrameFormatError('BAD_FLAGS', 'clients send requests only, with a request id > 0'));
      return;
    }
    if (this.calls.has(requestId)) {
      this.protocolViolation(new FrameFormatError('BAD_FLAGS', `request id ${requestId} is already in flight`, requestId));
      return;
    }
    if (method === Methods.Authenticate.id) {
      this.authenticate(frame);
      return;
    }
    const registered = this.server.handlerFor(method);
    if (this.server.checksCredentials) {
      // Before the method lookup, so that a caller without credentials cannot even learn what a node serves.
      const m = registered?.method ?? methodById(method);
      const name = m?.name ?? `method ${method}`;
      const denial = accessDenial(name, m?.access ?? 'node', this.identity, this.certificateProblem);
      if (denial !== undefined) {
        // The first refusal on a connection is worth an operator's attention; a retry loop behind it is not.
        const fields = { requestId, remote: this.remoteAddress, reason: denial.message };
        if (this.refusals++ === 0) this.server.warnLimited(`refused ${name}`, fields);
        else this.server.logger.debug(`refused ${name}`, fields);
        this.sendError(requestId, method, denial.status, denial.message);
        return;
      }
    }
    if (registered === undefined) {
      if (this.server.starting) this.sendError(requestId, method, Status.UNAVAILABLE, 'the node is starting; retry shortly');
      else this.sendError(requestId, method, Status.UNKNOWN_METHOD, `method ${method} is not served by this node`);
      return;
    }
    if (this.goingAway) {
      this.sendError(requestId, method, Status.SHUTTING_DOWN, 'the server is shutting down');
      return;
    }
    const server = this.server;
    const overBytes = server.inFlightBytes > 0 && server.inFlightBytes + frame.payload.length > server.maxInFlightBytes; // an idle node takes any one frame
    if (!CONTROL_PLANE.has(method) && (server.inFlightTotal >= server.maxInFlightTotal || overBytes)) {
      // Shed before decoding: under a flood the cheapest answer is the best one.
      server.shed++;
      const what = server.inFlightTotal >= server.maxInFlightTotal ? `${server.inFlightTotal} requests` : `${server.inFlightBytes} bytes of requests`;
      this.writer.write(
        encodeFrame(requestId, method, Flag.RESPONSE | Flag.ERROR, Status.OVERLOADED, 0, encodeErrorDetail(Status.OVERLOADED, `the node is overloaded: ${what} in flight; retry later`, { retryAfterMs: 50 })),
      );
      return;
    }
    const now = performance.now();
    const deadline = frame.timeoutMs === 0 ? Infinity : now + frame.timeoutMs;
    let request: unknown;
    try {
      request = registered.method.request.decode(frame.payload);
    } catch (err) {
      this.sendError(requestId, method, Status.INVALID_ARGUMENT, `malformed ${registered.method.name} request: ${(err as Error).message}`);
      return;
    }
    const call = new Call(registered.method.name, deadline, this.remoteAddress, this.identity, frame.payload.length);
    this.calls.set(requestId, call);
    server.inFlightTotal++;
    server.inFlightBytes += call.bytes;
    let result: unknown;
    try {
      result = registered.handler(request, call);
    } catch (err) {
      this.finishError(requestId, method, call, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => this.finish(requestId, method, call, res),
        (err) => this.finishError(requestId, method, call, err),
      );
    } else {
      this.finish(requestId, method, call, result);
    }
  }

  /**
   * A client token for this connection. Answered inline, before the next frame is read, so requests the
   * client pipelined behind it already run as the token's client. A token we do not accept ends the
   * connection: nothing sent on it after the token would be served anyway.
   */
  private authenticate(frame: Frame): void {
    const tokens = this.server.tokens;
    let token: string;
    try {
      token = Methods.Authenticate.request.decode(frame.payload).token;
    } catch (err) {
      this.sendError(frame.requestId, frame.method, Status.INVALID_ARGUMENT, `malformed Authenticate request: ${(err as Error).message}`);
      return;
    }
    const name = tokens?.lookup(token);
    if (name === undefined) {
      const why = tokens === undefined || tokens.size === 0 ? 'this node accepts no tokens' : 'the token is not one this node accepts';
      this.server.warnLimited('connection refused: bad token', { remote: this.remoteAddress, reason: why });
      this.refuse(Status.UNAUTHENTICATED, why);
      return;
    }
    if (this.identity?.role !== 'node') this.identity = { role: 'client', name, via: 'token' };
    const payload = Methods.Authenticate.response.encode({ name }).finish();
    this.writer.write(encodeFrame(frame.requestId, frame.method, Flag.RESPONSE, Status.OK, 0, payload));
  }

  private finish(requestId: number, method: number, call: Call, response: unknown): void {
    if (!this.complete(requestId, call)) return;
    let frame: Buffer;
    try {
      frame = encodeBehindHeader(this.server.handlerFor(method)!.method.response, response);
    } catch (err) {
      this.sendRpcError(requestId, method, toRpcError(err, this.server.logger, call.method, requestId));
      this.afterCompletion();
      return;
    }
    this.writer.write(writeFrameHeader(frame, requestId, method, Flag.RESPONSE, Status.OK, 0));
    this.afterCompletion();
  }

  private finishError(requestId: number, method: number, call: Call, err: unknown): void {
    if (!this.complete(requestId, call)) return;
    this.sendRpcError(requestId, method, toRpcError(err, this.server.logger, call.method, requestId));
    this.afterCompletion();
  }

  /** Removes a finished call; false when the connection is already gone (the result is dropped). */
  private complete(requestId: number, call: Call): boolean {
    call.done();
    if (this.closed) return false; // abortAll released it
    this.calls.delete(requestId);
    this.release(call);
    return true;
  }

  private afterCompletion(): void {
    if (this.calls.size === 0) {
      if (this.peerEnded) this.close();
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
    if (this.isPaused) this.pump();
  }

  private sendRpcError(requestId: number, method: number, err: RpcError): void {
    this.writer.write(
      encodeFrame(requestId, method, Flag.RESPONSE | Flag.ERROR, err.status, 0, encodeErrorDetail(err.status, err.message, err)),
    );
  }

  private sendError(requestId: number, method: number, status: Status, message: string): void {
    this.writer.write(encodeFrame(requestId, method, Flag.RESPONSE | Flag.ERROR, status, 0, encodeErrorDetail(status, message)));
  }

  /** Garbage, an oversize frame or a broken rule: say why if we can, then close the connection. */
  private protocolViolation(err: FrameFormatError): void {
    const status = err.kind === 'TOO_LARGE' ? Status.FRAME_TOO_LARGE : Status.PROTOCOL_ERROR;
    this.server.warnLimited('closing connection: protocol violation', { remote: this.remoteAddress, reason: err.message });
    this.sendError(err.requestId, 0, status, err.message);
    this.endNow();
  }

  private onIdle(): void {
    if (this.calls.size > 0) return; // a slow handler is not idleness
    this.server.logger.debug('closing idle connection', { remote: this.remoteAddress });
    this.goAway();
    this.close();
  }

  private onClose(): void {
    this.closed = true;
    this.abortAll();
    this.server.forget(this);
  }

  private release(call: Call): void {
    this.server.inFlightTotal--;
    this.server.inFlightBytes -= call.bytes;
  }

  private abortAll(): void {
    for (const call of this.calls.values()) {
      call.abort(new ConnectionError('the connection closed'));
      this.release(call);
    }
    this.calls.clear();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
