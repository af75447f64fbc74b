/**
 * RaftTransport: sends the Raft messages of one Ready to their peers as Raft RPC calls (method 65), one
 * call per peer carrying that peer's messages in order (RaftRequest.message, then RaftRequest.messages).
 * Delivery is best effort, like the network Raft is designed for: the response is empty, a failed or
 * timed-out call is dropped (the leader's heartbeats and the election timer retry), and a peer with too
 * many calls in flight has further batches dropped instead of queued — a dead peer never piles up work.
 */
import Long from 'long';
import type { RpcClient } from '../../rpc/client.js';
import type { Logger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { encodeMessage } from './codec.js';
import type { RaftMessage } from './types.js';

export interface RaftTransportOptions {
  readonly self: string;
  readonly clusterId: string;
  readonly client: Pick<RpcClient, 'call'>;
  readonly logger: Logger;
  /** Where a node listens: the committed member list first, gossip's view second; undefined when unknown. */
  readonly addressOf: (id: string) => string | undefined;
  /** The envelope's epoch and term, read at send time. */
  readonly envelope: () => { epoch: number; term: number };
  /** Timeout of one call (default 1 s: a batch older than that is stale for Raft anyway). */
  readonly callTimeoutMs?: number;
  /** Calls in flight per peer before further batches to it are dropped (default 32). */
  readonly maxInflightPerPeer?: number;
}

export class RaftTransport {
  private readonly opts: RaftTransportOptions;
  private readonly inflight = new Map<string, number>();
  private readonly callTimeoutMs: number;
  private readonly maxInflight: number;
  private readonly unknownLogged = new Set<string>();
  /** Batches dropped because the peer had too many calls in flight or no known address. */
  dropped = 0;

  constructor(opts: RaftTransportOptions) {
    this.opts = opts;
    this.callTimeoutMs = opts.callTimeoutMs ?? 1000;
    this.maxInflight = opts.maxInflightPerPeer ?? 32;
  }

  /** Sends `messages` grouped by destination, keeping their order within each group. */
  send(messages: readonly RaftMessage[]): void {
    const byPeer = new Map<string, Uint8Array[]>();
    for (const m of messages) {
      let batch = byPeer.get(m.to);
      if (batch === undefined) byPeer.set(m.to, (batch = []));
      batch.push(encodeMessage(m));
    }
    for (const [to, batch] of byPeer) this.sendBatch(to, batch);
  }

  /** Resolves once every call in flight has settled (used by stop, after the last Ready). */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ([...this.inflight.values()].some((n) => n > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  private sendBatch(to: string, batch: Uint8Array[]): void {
    const address = this.opts.addressOf(to);
    if (address === undefined) {
      this.dropped++;
      if (!this.unknownLogged.has(to)) {
        this.unknownLogged.add(to);
        this.opts.logger.warn(`raft: no address known for ${to} yet (not in the committed members nor in gossip); its messages are dropped until it is`);
      }
      return;
    }
    const n = this.inflight.get(to) ?? 0;
    if (n >= this.maxInflight) {
      this.dropped++;
      return;
    }
    this.inflight.set(to, n + 1);
    const { epoch, term } = this.opts.envelope();
    const [first, ...rest] = batch;
    const request = {
      from: { clusterId: this.opts.clusterId, nodeId: this.opts.self, epoch: Long.fromNumber(epoch, true), raftTerm: Long.fromNumber(term, true) },
      message: first,
      messages: rest,
    };
    this.opts.client
      .call(address, Methods.Raft, request, { timeoutMs: this.callTimeoutMs })
      .then(
        () => this.unknownLogged.delete(to),
        (err: unknown) => this.opts.logger.debug(`raft: ${batch.length} messages to ${to} (${address}) not delivered`, { error: String(err) }),
      )
      .finally(() => this.inflight.set(to, (this.inflight.get(to) ?? 1) - 1));
  }
}
