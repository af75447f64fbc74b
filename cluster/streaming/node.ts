/**
 * Wiring of partition streaming into a node (tools/commands/server.ts): serves StreamPartition (75) and
 * builds the StreamingService over the RPC transport and the Raft driver (state, stream-done).
 */
import type { RpcClient } from '../../rpc/client.js';
import type { Logger } from '../../rpc/logger.js';
import type { RpcServer } from '../../rpc/server.js';
import type { ClusterState } from '../state/snapshot-codec.js';
import type { StoredRecord } from '../storage/record.js';
import type { ReplicaStore } from '../storage/replica-store.js';
import { registerStreamResponder } from './responder.js';
import { StreamingService } from './service.js';
import { StreamTransport } from './transport.js';

export interface NodeStreamingOptions {
  readonly server: Pick<RpcServer, 'handle'>;
  readonly client: Pick<RpcClient, 'call'>;
  readonly nodeId: string;
  readonly clusterId: string;
  readonly store: ReplicaStore;
  readonly raft: { clusterState(): ClusterState; reportStreamDone(transition: number): Promise<boolean> };
  readonly isAlive: (node: string) => boolean;
  readonly onApplied?: (key: Uint8Array, record: StoredRecord) => void;
  readonly logger: Logger;
  /** Wait after the barrier for writes started with the old ring: at least the replica-call timeout. */
  readonly settleMs: number;
}

/** Registers StreamPartition and returns the (not yet started) streaming service. */
export function createNodeStreaming(o: NodeStreamingOptions): StreamingService {
  registerStreamResponder(o.server, { clusterId: o.clusterId, store: o.store, state: () => o.raft.clusterState() });
  const transport = new StreamTransport({
    client: o.client,
    clusterId: o.clusterId,
    nodeId: o.nodeId,
    addressOf: (node) => o.raft.clusterState().members.find((m) => m.id === node)?.address,
  });
  return new StreamingService({
    nodeId: o.nodeId,
    store: o.store,
    state: () => o.raft.clusterState(),
    isAlive: o.isAlive,
    fetchPage: (source, partition, resume, maxBytes) => transport.fetchPage(source, partition, resume, maxBytes),
    appliedIndexOf: (node) => transport.appliedIndexOf(node),
    reportDone: (transition) => o.raft.reportStreamDone(transition),
    ...(o.onApplied === undefined ? {} : { onApplied: o.onApplied }),
    logger: o.logger,
    settleMs: o.settleMs,
  });
}
