/**
 * A stand-in node for client tests: an RpcServer on 127.0.0.1:0 serving Get, Put, Delete and Batch
 * (methods 2-5) from an in-memory map, with knobs to make it fail or stall. Consistency is checked as a
 * 3-replica cluster would (cluster/consistency.ts), so a bad R or W gets INVALID_ARGUMENT. When `status`
 * is set it also answers Status (method 71) with it, for token-aware routing; otherwise Status is an
 * unknown method, as on a node that cannot tell its ring.
 */
import Long from 'long';
import { ConsistencyError, resolveRead, resolveWrite } from '../../cluster/consistency.js';
import { InvalidArgumentError, TimeoutError, UnknownMethodError } from '../../rpc/errors.js';
import type { RpcError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import type { CallContext } from '../../rpc/server.js';
import { mydatastore } from '../../proto/gen/messages.js';

const Status = mydatastore.Status;
const N = 3;

export interface FakeKvServer {
  readonly server: RpcServer;
  readonly address: string;
  readonly data: Map<string, Buffer>;
  /** Requests received per method name (counted before any injected failure). */
  readonly calls: Record<string, number>;
  /** Consistency counts of the requests received, in order. */
  readonly consistency: number[];
  /** When set, every request throws this (after `calls` counted it). */
  failWith: RpcError | undefined;
  /** When set, every request waits for this promise before answering. */
  stall: Promise<void> | undefined;
  /** The keys of the Get/Put/Delete requests received, in order, as `Put:key`. */
  readonly received: string[];
  /** What Status answers; undefined: Status fails with UNKNOWN_METHOD. */
  status: mydatastore.cluster.IStatusResponse | undefined;
  stop(): Promise<void>;
}

function keyOf(b: Uint8Array): string {
  if (b.length === 0) throw new InvalidArgumentError('the key is empty');
  return Buffer.from(b).toString('latin1');
}

/** `data`: the store, shared between fakes that stand for the nodes of one cluster (default: its own). */
export async function startFakeKvServer(data: Map<string, Buffer> = new Map()): Promise<FakeKvServer> {
  const server = new RpcServer({ shutdownTimeoutMs: 1000 });
  let ts = 0;
  const fake: FakeKvServer = {
    server,
    address: '',
    data,
    calls: {},
    consistency: [],
    failWith: undefined,
    stall: undefined,
    received: [],
    status: undefined,
    stop: () => server.stop(),
  };
  const before = async (name: string, ctx: CallContext, check: () => number, key?: Uint8Array): Promise<void> => {
    fake.calls[name] = (fake.calls[name] ?? 0) + 1;
    if (key !== undefined) fake.received.push(`${name}:${Buffer.from(key).toString('latin1')}`);
    if (fake.stall !== undefined) {
      await Promise.race([fake.stall, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
      // As a real node: a request whose deadline passed while it waited is not answered OK (on a busy
      // machine that answer could reach the client before its own deadline timer fires).
      if (ctx.signal.aborted) throw new TimeoutError(`${name}: the deadline passed while the fake stalled`);
    }
    if (fake.failWith !== undefined) throw fake.failWith;
    try {
      fake.consistency.push(check());
    } catch (err) {
      if (err instanceof ConsistencyError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
  server.handle(Methods.Get, async (req, ctx) => {
    await before('Get', ctx, () => resolveRead(req.r, N, { r: 2 }), req.key);
    const v = fake.data.get(keyOf(req.key));
    return v === undefined ? { status: Status.NOT_FOUND, value: new Uint8Array(0), timestamp: Long.UZERO } : { status: Status.OK, value: v, timestamp: Long.fromNumber(ts, true) };
  });
  server.handle(Methods.Put, async (req, ctx) => {
    await before('Put', ctx, () => resolveWrite(req.w, N, { w: 2 }), req.key);
    fake.data.set(keyOf(req.key), Buffer.from(req.value));
    return { status: Status.OK, timestamp: Long.fromNumber(++ts, true), acks: N };
  });
  server.handle(Methods.Delete, async (req, ctx) => {
    await before('Delete', ctx, () => resolveWrite(req.w, N, { w: 2 }), req.key);
    fake.data.delete(keyOf(req.key));
    return { status: Status.OK, timestamp: Long.fromNumber(++ts, true), acks: N };
  });
  server.handle(Methods.Batch, async (req, ctx) => {
    await before('Batch', ctx, () => resolveWrite(req.w, N, { w: 2 }));
    return {
      results: req.mutations.map((m) => {
        const key = m.key ?? new Uint8Array(0);
        if (key.length === 0) return { status: Status.INVALID_ARGUMENT, message: 'the key is empty', timestamp: Long.UZERO, acks: 0 };
        if (m.kind === mydatastore.client.Mutation.Kind.PUT) fake.data.set(keyOf(key), Buffer.from(m.value ?? new Uint8Array(0)));
        else fake.data.delete(keyOf(key));
        return { status: Status.OK, timestamp: Long.fromNumber(++ts, true), acks: N, message: '' };
      }),
    };
  });
  server.handle(Methods.Status, () => {
    fake.calls.Status = (fake.calls.Status ?? 0) + 1;
    if (fake.status === undefined) throw new UnknownMethodError('this fake node does not serve Status');
    return fake.status;
  });
  const { port } = await server.listen(0, '127.0.0.1');
  (fake as { address: string }).address = `127.0.0.1:${port}`;
  return fake;
}

/** An address on 127.0.0.1 where nothing listens (a port that was just freed). */
export async function deadAddress(): Promise<string> {
  const probe = new RpcServer();
  const { port } = await probe.listen(0, '127.0.0.1');
  await probe.stop();
  return `127.0.0.1:${port}`;
}
