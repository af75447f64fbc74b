/**
 * One RaftDriver (node 'b' of cluster 'test') on a given in-memory file system, with a recording client in
 * place of the network and the Raft method's handler at hand: what the driver tests drive it with.
 */
import type { Test } from 'tap';
import type { MemFileSystem } from '../../lsm/index.js';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { decodeMessage, encodeMessage } from '../../cluster/raft/codec.js';
import { RaftDriver } from '../../cluster/raft/driver.js';
import type { RaftMessage } from '../../cluster/raft/types.js';
import { mydatastore } from '../../proto/gen/messages.js';
import type { AnyMethod } from '../../rpc/methods.js';
import { Methods } from '../../rpc/methods.js';

export type RaftRequest = mydatastore.cluster.RaftRequest;

export interface DriverHarness {
  driver: RaftDriver;
  /** Every Raft message the driver sent, in order. */
  sent: RaftMessage[];
  /** Calls the driver's handler of the Raft method, as the RPC server would. */
  raft: (req: RaftRequest) => unknown;
}

/** The leader 'L' as gossip sees it. */
export const leader: MemberRecord = { id: 'L', address: '127.0.0.1:1', incarnation: 1, state: 'alive', meta: {} };

/** The RaftRequest 'L' sends with these messages, through a protobuf round trip. */
export function raftRequest(messages: RaftMessage[], clusterId = 'test'): RaftRequest {
  const [first, ...rest] = messages.map(encodeMessage);
  const pb = mydatastore.cluster.RaftRequest;
  return pb.decode(pb.encode({ from: { clusterId, nodeId: 'L' }, message: first, messages: rest }).finish());
}

export async function startDriver(t: Test, fs: MemFileSystem, onFatal?: (e: Error) => void): Promise<DriverHarness> {
  const handlers = new Map<number, (req: unknown, ctx: unknown) => unknown>();
  const sent: RaftMessage[] = [];
  const client = {
    call: (_address: string, method: AnyMethod, req: unknown) => {
      if (method.id === Methods.Raft.id) {
        const r = req as { message: Uint8Array; messages: Uint8Array[] };
        for (const b of [r.message, ...r.messages]) sent.push(decodeMessage(b));
      }
      return Promise.resolve({});
    },
    destroy: () => {},
  };
  const driver = await RaftDriver.open({
    id: 'b',
    address: '127.0.0.1:2',
    clusterId: 'test',
    dir: '/raft',
    fs,
    bootstrap: false,
    server: { handle: (m: AnyMethod, h: (req: unknown, ctx: unknown) => unknown) => void handlers.set(m.id, h) } as never,
    client: client as never,
    membership: { members: () => [leader] },
    tickMs: 10,
    ...(onFatal === undefined ? {} : { onFatal }),
  });
  driver.start();
  // After a simulated crash the storage handles are dead and closing them fails: that is expected.
  t.teardown(() => driver.stop().catch(() => undefined));
  return { driver, sent, raft: (req) => handlers.get(Methods.Raft.id)!(req, {}) };
}
