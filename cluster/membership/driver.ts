/**
 * MembershipDriver: the I/O edge around the pure SwimNode. It owns the node's timer (armed for
 * `nextDeadline()`), sends `ready().messages` as Gossip RPC calls, serves the Gossip and Members methods on
 * the node's RpcServer, and logs every membership change.
 *
 * Request/response mapping. The state machine addresses a reply (ack, push-pull-reply) to the address it
 * received the request from. The driver hands it a one-off reply token instead of the caller's TCP address
 * (an ephemeral port, useless to reply to) and, when the machine outputs a message for that token, returns
 * it as the GossipResponse of the call. A ping is answered within the same `receive` (or not at all: it was
 * meant for another node); a ping-req is answered when the relayed ping's ack comes back, so its handler
 * waits for it up to one probe interval and otherwise answers `ack = false`. On the sending side a reply
 * comes back as the response and is fed to `receive`; a failed or timed-out call is simply no reply, which
 * the machine's own timers turn into an indirect probe, a suspicion, and so on.
 */
import { performance } from 'node:perf_hooks';
import type { RpcClient } from '../../rpc/client.js';
import { ConnectionError, InvalidArgumentError, PermissionDeniedError, RpcError, ShuttingDownError, TimeoutError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import type { CallContext, RpcServer } from '../../rpc/server.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, GossipDecodeError, memberToPb } from './codec.js';
import type { ReplyMessage, RequestMessage } from './codec.js';
import { SwimNode } from './node.js';
import type { MemberEvent, MemberRecord, MembershipConfig, Outbound } from './types.js';

type PbRequest = mydatastore.cluster.GossipRequest;
type PbResponse = mydatastore.cluster.GossipResponse.$Properties;

/** Gossip from a node of another cluster (or a misconfigured one): refused, and logged with both ids. */
export class ClusterMismatchError extends Error {
  readonly code = 'MEMBERSHIP_CLUSTER_MISMATCH';
  constructor(
    readonly ours: string,
    readonly theirs: string,
    readonly sender: string,
  ) {
    super(`gossip from node "${sender}" of cluster "${theirs}" refused: this node belongs to cluster "${ours}"`);
    this.name = 'ClusterMismatchError';
  }
}

export interface MembershipDriverOptions {
  readonly id: string;
  /** host:port peers reach this node's RpcServer at. */
  readonly address: string;
  readonly clusterId: string;
  readonly seeds: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly config?: Partial<MembershipConfig>;
  /** The node's RPC server: the driver registers Gossip and Members on it (the caller listens and stops it). */
  readonly server: RpcServer;
  /** Client for outgoing gossip; the driver closes it on stop. */
  readonly client: RpcClient;
  readonly logger?: Logger;
  /** Monotonic milliseconds (default performance.now). */
  readonly clock?: () => number;
  readonly random?: () => number;
  /** Starting incarnation; default Date.now(), larger than any this id used in an earlier life. */
  readonly incarnation?: number;
  /** stop() waits at most this long for the `left` record to be disseminated (default 3 s). */
  readonly leaveTimeoutMs?: number;
  /** Timeout of push-pull and one-way gossip calls (default 5 s); probes time out after one probe interval. */
  readonly callTimeoutMs?: number;
  /** Gossip calls in flight at most; beyond that messages are dropped, as a lossy network would (default 1024). */
  readonly maxOutstandingCalls?: number;
}

const WARN_EVERY_MS = 30_000;

export class MembershipDriver {
  readonly id: string;
  readonly clusterId: string;
  private readonly swim: SwimNode;
  private readonly server: RpcServer;
  private readonly client: RpcClient;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly seeds: readonly string[];
  private readonly leaveTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly maxOutstanding: number;
  private readonly listeners: ((e: MemberEvent) => void)[] = [];
  /** Reply token → the pending Gossip call waiting for the machine's reply. */
  private readonly waiting = new Map<string, (reply: ReplyMessage | undefined) => void>();
  private readonly lastWarned = new Map<string, number>();
  private replySeq = 0;
  private outstanding = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private state: 'new' | 'running' | 'leaving' | 'stopped' = 'new';
  private onLeaveDisseminated: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  /** Messages dropped because maxOutstandingCalls calls were in flight. */
  dropped = 0;

  constructor(options: MembershipDriverOptions) {
    this.id = options.id;
    this.clusterId = options.clusterId;
    this.server = options.server;
    this.client = options.client;
    this.log = options.logger ?? silentLogger;
    this.clock = options.clock ?? (() => performance.now());
    this.seeds = options.seeds;
    this.leaveTimeoutMs = options.leaveTimeoutMs ?? 3000;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.maxOutstanding = options.maxOutstandingCalls ?? 1024;
    const random = options.random ?? Math.random;
    this.swim = new SwimNode({
      id: options.id,
      address: options.address,
      meta: options.meta ?? {},
      incarnation: options.incarnation ?? Date.now(),
      rng: { next: random },
      now: this.clock(),
      config: options.config ?? {},
    });
    this.server.handle(Methods.Gossip, (req, ctx) => this.onGossip(req, ctx));
    this.server.handle(Methods.Members, () => ({ nodeId: this.id, clusterId: this.clusterId, members: this.swim.members().map(memberToPb) }));
  }

  /** Joins through the seeds (retried by the state machine while alone) and starts the protocol timers. */
  start(): void {
    if (this.state !== 'new') throw new Error('the membership driver was already started');
    this.state = 'running';
    const self = this.swim.self;
    const seeds = this.seeds.length === 0 ? 'no seeds: waiting for others to join' : `seeds ${this.seeds.join(',')}`;
    this.log.info(`membership: node ${self.id} ${self.address} joining cluster "${this.clusterId}" (incarnation ${self.incarnation}, ${seeds})`);
    this.swim.join(this.seeds, this.clock());
    this.flush();
  }

  /**
   * Graceful leave: gossips `left`, keeps the protocol running until that record has been piggy-backed its
   * full number of times or leaveTimeoutMs passed, then stops the timers and closes the client.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  onChange(listener: (e: MemberEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Every member this node knows of, itself included. */
  members(): MemberRecord[] {
    return this.swim.members();
  }

  get self(): MemberRecord {
    return this.swim.self;
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'leaving';
    this.swim.leave(this.clock());
    const peers = this.swim.liveMembers().filter((m) => m.id !== this.id).length;
    this.log.info(`membership: leaving cluster "${this.clusterId}" (telling ${peers} live members)`);
    const started = this.clock();
    const disseminated = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.leaveTimeoutMs);
      this.onLeaveDisseminated = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    this.flush();
    const done = await disseminated;
    this.onLeaveDisseminated = undefined;
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
    const took = Math.round(this.clock() - started);
    this.log.info(done ? `membership: left (disseminated in ${took} ms)` : `membership: left (stopped gossiping after ${took} ms)`);
    // Let the last gossip calls finish briefly; then cut them.
    await Promise.race([this.client.close(), new Promise((r) => setTimeout(r, 500).unref())]);
    this.client.destroy();
  }

  // ---- inbound -------------------------------------------------------------------------------------

  private async onGossip(req: PbRequest, ctx: CallContext): Promise<PbResponse> {
    const theirs = req.from?.clusterId ?? '';
    if (theirs !== this.clusterId) {
      const err = new ClusterMismatchError(this.clusterId, theirs, req.from?.nodeId ?? '?');
      this.warnOnce(`in:${theirs}:${err.sender}`, err.message, { code: err.code, remote: ctx.remoteAddress });
      throw new PermissionDeniedError(err.message);
    }
    if (this.state !== 'running' && this.state !== 'leaving') throw new ShuttingDownError(`node ${this.id} is not gossiping`);
    let message: RequestMessage;
    try {
      message = decodeRequest(req);
    } catch (err) {
      if (!(err instanceof GossipDecodeError)) throw err;
      this.warnOnce(`bad:${ctx.remoteAddress}`, `membership: malformed gossip dropped: ${err.message}`, { code: err.code, remote: ctx.remoteAddress });
      throw new InvalidArgumentError(err.message);
    }
    const token = `reply#${++this.replySeq}`;
    const reply = new Promise<ReplyMessage | undefined>((resolve) => this.waiting.set(token, resolve));
    this.swim.receive(token, message, this.clock());
    this.flush();
    const seq = message.type === 'ping' || message.type === 'ping-req' ? message.seq : 0;
    if (this.waiting.has(token)) {
      if (message.type === 'ping-req') {
        // The relayed ping's ack arrives later; the relay itself expires after one probe interval.
        const giveUp = () => this.answer(token, undefined);
        const timer = setTimeout(giveUp, this.swim.config.probeIntervalMs);
        ctx.signal.addEventListener('abort', giveUp, { once: true });
        void reply.finally(() => {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', giveUp);
        });
      } else {
        this.answer(token, undefined); // a ping meant for another node, or one-way gossip
      }
    }
    return encodeResponse(await reply, this.id, seq);
  }

  private answer(token: string, reply: ReplyMessage | undefined): void {
    const resolve = this.waiting.get(token);
    if (resolve === undefined) return; // a late relay ack: the caller was already answered
    this.waiting.delete(token);
    resolve(reply);
  }

  // ---- outbound ------------------------------------------------------------------------------------

  /** Routes the machine's outputs: replies to waiting calls, requests as RPC calls; logs events; re-arms the timer. */
  private flush(): void {
    const { messages, events } = this.swim.ready();
    for (const e of events) this.changed(e);
    for (const out of messages) {
      if (out.to.startsWith('reply#')) {
        if (out.message.type === 'ack' || out.message.type === 'push-pull-reply') this.answer(out.to, out.message);
      } else {
        this.send(out);
      }
    }
    // Done when the record was sent its full number of times, or nobody is left to tell (all leaving too).
    if (this.state === 'leaving' && (this.swim.leaveDisseminated() || this.swim.liveMembers().length === 0)) this.onLeaveDisseminated?.();
    this.arm();
  }

  private send({ to, message }: Outbound): void {
    if (message.type === 'ack' || message.type === 'push-pull-reply') return; // replies only go to reply tokens
    if (this.outstanding >= this.maxOutstanding) {
      this.dropped++;
      return;
    }
    const probe = message.type === 'ping' || message.type === 'ping-req';
    const timeoutMs = probe ? this.swim.config.probeIntervalMs : this.callTimeoutMs;
    this.outstanding++;
    this.client
      .call(to, Methods.Gossip, encodeRequest(message, this.clusterId), { timeoutMs })
      .then(
        (res) => this.onResponse(to, message, res),
        (err: unknown) => this.onCallFailed(to, message, err),
      )
      .finally(() => this.outstanding--);
  }

  private onResponse(to: string, request: RequestMessage, res: PbResponse): void {
    if (this.state === 'stopped') return;
    let reply: ReplyMessage | undefined;
    try {
      reply = decodeResponse(res, request);
    } catch (err) {
      this.warnOnce(`badreply:${to}`, `membership: malformed gossip reply from ${to} dropped: ${(err as Error).message}`);
      return;
    }
    if (reply === undefined) return;
    this.swim.receive(to, reply, this.clock());
    this.flush();
  }

  /** No reply: the state machine's timers decide what that means. Only a refusal is worth a warning. */
  private onCallFailed(to: string, request: RequestMessage, err: unknown): void {
    if (err instanceof ConnectionError && err.tlsRefused) {
      this.warnOnce(`tls:${to}`, `membership: cannot reach ${to}: ${err.message} (are both nodes' certificates signed by the same CA?)`, { code: err.code });
    } else if (err instanceof ConnectionError || err instanceof TimeoutError || err instanceof ShuttingDownError) {
      this.log.debug(`membership: no reply from ${to} to ${request.type}`, { code: err.code });
    } else if (err instanceof RpcError) {
      this.warnOnce(`out:${to}:${err.code}`, `membership: ${to} refused ${request.type}: ${err.message}`, { code: err.code });
    } else {
      this.log.error(`membership: gossip to ${to} failed`, { error: String(err) });
    }
  }

  // ---- timer and logs -----------------------------------------------------------------------------------

  private arm(): void {
    if (this.state === 'stopped' || this.state === 'new') return;
    const at = this.swim.nextDeadline();
    if (this.timer !== undefined && at === this.timerAt) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    const delay = Math.min(Math.max(0, Math.ceil(at - this.clock())), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.onTimer(), delay);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.state === 'stopped') return;
    this.swim.tick(this.clock());
    this.flush();
  }

  private changed(e: MemberEvent): void {
    const m = e.member;
    this.log.info(`node ${m.id} ${m.address} is now ${m.state} (incarnation ${m.incarnation})`);
    for (const l of this.listeners) l(e);
  }

  /** Repeated failures (a misconfigured peer gossiping every second) are logged once per 30 s per cause. */
  private warnOnce(key: string, msg: string, fields?: Record<string, unknown>): void {
    const now = this.clock();
    const last = this.lastWarned.get(key);
    if (last !== undefined && now - last < WARN_EVERY_MS) return;
    if (this.lastWarned.size > 1000) this.lastWarned.clear();
    this.lastWarned.set(key, now);
    this.log.warn(msg, fields);
  }
}
