/**
 * The streaming service's calls to other nodes over RPC: a StreamPartition page (75) and a node's
 * applied index from Status (71), addressed by the committed member list.
 */
import Long from 'long';
import type { RpcClient } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import type { PartitionPosition } from '../storage/replica-store.js';
import { StreamFailedError } from './errors.js';
import { pageFromPb, type StreamPage } from './responder.js';

export interface StreamTransportOptions {
  readonly client: Pick<RpcClient, 'call'>;
  readonly clusterId: string;
  readonly nodeId: string;
  /** The committed address of a member. */
  readonly addressOf: (node: string) => string | undefined;
  /** Per call (default 10 s). */
  readonly timeoutMs?: number;
}

export class StreamTransport {
  constructor(private readonly opts: StreamTransportOptions) {}

  async fetchPage(source: string, partition: number, resume: PartitionPosition | undefined, maxBytes: number): Promise<StreamPage> {
    const res = await this.opts.client.call(
      this.address(source),
      Methods.StreamPartition,
      {
        from: { clusterId: this.opts.clusterId, nodeId: this.opts.nodeId },
        partition,
        ...(resume === undefined ? {} : { resume: { epoch: Long.fromNumber(resume.epoch, true), key: resume.key } }),
        maxBytes,
      },
      { timeoutMs: this.opts.timeoutMs ?? 10_000 },
    );
    return pageFromPb(res);
  }

  async appliedIndexOf(node: string): Promise<number> {
    const res = await this.opts.client.call(this.address(node), Methods.Status, {}, { timeoutMs: this.opts.timeoutMs ?? 10_000 });
    return Long.fromValue(res.appliedIndex ?? 0).toNumber();
  }

  private address(node: string): string {
    const a = this.opts.addressOf(node);
    if (a === undefined) throw new StreamFailedError(`no committed address for ${node}`);
    return a;
  }
}
