/**
 * Fuzz target: the protobuf request handlers over the wire. A real node (fuzz-node.ts) is sent, on raw
 * TCP connections, frames for every method id of rpc/methods.ts, retired and unknown ids, with random
 * payloads and mutated valid requests (flipped bytes, truncation, extension, wrong wire types, huge
 * lengths), sometimes followed by a framing fault (unknown flag bits, an oversize length, request id 0,
 * a reused request id). Every request must be answered exactly once, before any close, by
 *   - a response (flags RESPONSE, status OK) whose payload decodes as the method's response, or
 *   - an error (flags RESPONSE|ERROR) with a status documented in rpc/PROTOCOL.md §5 (INTERNAL counts
 *     as a failure: it is a server bug) and a readable ErrorDetail naming that status; unknown ids get
 *     UNKNOWN_METHOD;
 * except that after a framing fault the server answers a connection error (PROTOCOL_ERROR or
 * FRAME_TOO_LARGE; UNAUTHENTICATED after an Authenticate with a bad token) and closes, dropping what
 * was in flight. Afterwards the node must still be up,
 * answer Ping, and read back the sentinel key written before the fuzzing.
 */
import net from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import Long from 'long';
import { encodeMessage } from '../../cluster/raft/codec.js';
import type { RaftMessage } from '../../cluster/raft/types.js';
import { Status } from '../../rpc/errors.js';
import type { Frame } from '../../rpc/frame.js';
import { encodeFrame, encodePreface, Flag, FrameDecoder, FrameFormatError } from '../../rpc/frame.js';
import { ErrorDetail, Methods } from '../../rpc/methods.js';
import type { AnyMethod } from '../../rpc/methods.js';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { FUZZ_CLUSTER_ID, FUZZ_NODE_ID, startFuzzNode } from './fuzz-node.js';
import { startWatchdog } from './hang-watchdog.js';
import type { Mutation } from './mutations.js';
import { applyMutations, mutationsArb } from './mutations.js';

const RUNS = fuzzRuns(1);
/** A case whose requests are not all answered by then has hung (a handler that never answers). */
const CASE_TIMEOUT_MS = 15_000;

const envelope = { clusterId: FUZZ_CLUSTER_ID, nodeId: 'peer', epoch: 1, raftTerm: 1 };
const raft = (m: RaftMessage): Uint8Array => encodeMessage(m);
const bytes = (s: string): Buffer => Buffer.from(s);

/**
 * Valid requests by method name, for the mutations to start from. None names the sentinel key or
 * removes the node. Names the method table does not have (yet) are skipped.
 */
const SAMPLE_REQUESTS: Record<string, object[]> = {
  Ping: [{ payload: bytes('hi') }],
  Get: [{ key: bytes('fz-a'), r: { named: 1 } }, { key: bytes('fz-a'), r: { count: 1 }, blockingReadRepair: true }],
  Put: [{ key: bytes('fz-a'), value: bytes('v'), w: { count: 1 }, after: { physicalMs: 1, logical: 2, node: 'x' } }],
  Delete: [{ key: bytes('fz-b'), w: { named: 3 } }],
  Batch: [{ mutations: [{ kind: 0, key: bytes('fz-c'), value: bytes('x') }, { kind: 1, key: bytes('fz-d') }] }],
  Authenticate: [{ token: 'not-a-token' }],
  Gossip: [
    { from: envelope, seq: 1, targetNodeId: FUZZ_NODE_ID, kind: 0 },
    { from: envelope, seq: 2, kind: 2, updates: [{ nodeId: 'peer', address: '127.0.0.1:1', incarnation: 1, state: 0, meta: { zone: 'z' } }] },
    { from: envelope, seq: 3, kind: 1, targetNodeId: 'peer', targetAddress: '127.0.0.1:1' },
  ],
  Raft: [
    { from: envelope, message: raft({ type: 'heartbeat', from: 'peer', to: FUZZ_NODE_ID, term: 1, commit: 0 }) },
    { from: envelope, message: raft({ type: 'pre-vote', from: 'peer', to: FUZZ_NODE_ID, term: 2, lastIndex: 0, lastTerm: 0 }) },
    { from: envelope, message: raft({ type: 'app-resp', from: 'peer', to: FUZZ_NODE_ID, term: 1, index: 3, reject: true, hintTerm: 0, hintIndex: 1 }) },
  ],
  ReplicaWrite: [{ from: envelope, records: [{ key: bytes('fz-r'), value: bytes('v'), timestamp: Date.now(), epoch: 1, partition: 0, logical: 0, node: 'peer' }] }],
  ReplicaRead: [{ from: envelope, key: bytes('fz-r') }],
  Members: [{}],
  Status: [{}],
  Decommission: [{ nodeId: 'ghost' }],
  TreeHashes: [{ from: envelope, partition: 0, epochs: { fromEpoch: 0, toEpoch: 10 }, treeVersion: 1, level: 1, indices: [0, 1], counts: true }],
  BucketRecords: [{ from: envelope, partition: 0, epochs: { fromEpoch: 0, toEpoch: 10 }, treeVersion: 1, buckets: [0, 1], maxBytes: 2048 }],
  StreamPartition: [{ from: envelope, partition: 0, maxBytes: 2048 }],
  StreamDone: [{ from: envelope, nodeId: 'ghost', transition: Long.fromNumber(1, true) }],
};
const ALL_METHODS: AnyMethod[] = Object.values(Methods);
/** Encoded samples by method id; every method of the table has an entry (empty payload when it has no sample). */
const SAMPLES = new Map<number, Uint8Array[]>(
  ALL_METHODS.map((m) => [m.id, (SAMPLE_REQUESTS[m.name] ?? [{}]).map((r) => m.request.encode(r).finish())]),
);
const BY_ID = new Map<number, AnyMethod>(ALL_METHODS.map((m) => [m.id, m]));
/** Ids no node serves: reserved, retired, unassigned in both ranges, the largest. */
const UNSERVED = [0, 6, 7, 63, 68, 69, 77, 127, 128, 4242, 65535].filter((id) => !BY_ID.has(id));
/** A status as the plain number the frame carries. */
const num = (s: Status): number => s;
const DOCUMENTED_STATUSES = new Set<number>(Object.values(Status).filter((v): v is Status => typeof v === 'number').map(num).filter((v) => v !== num(Status.OK)));

interface RequestSpec {
  method: number;
  /** A sample to mutate (its index modulo the samples), or random bytes. */
  payload: { sample: number; mutations: Mutation[] } | { random: Uint8Array };
  timeoutMs: number;
}

type Fault = 'bad-flags' | 'oversize' | 'request-id-0' | 'reused-id' | 'garbage';

const requestArb: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.oneof({ arbitrary: fc.constantFrom(...SAMPLES.keys()), weight: 5 }, { arbitrary: fc.constantFrom(...UNSERVED), weight: 1 }),
  payload: fc.oneof(
    { arbitrary: fc.record({ sample: fc.nat({ max: 2 }), mutations: mutationsArb() }), weight: 4 },
    { arbitrary: fc.record({ sample: fc.nat({ max: 2 }), mutations: fc.constant<Mutation[]>([]) }), weight: 1 },
    { arbitrary: fc.record({ random: fc.uint8Array({ maxLength: 120 }) }), weight: 2 },
  ),
  timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
});

function payloadOf(r: RequestSpec): Uint8Array {
  if ('random' in r.payload) return r.payload.random;
  const samples = SAMPLES.get(r.method) ?? [new Uint8Array(0)];
  return applyMutations(samples[r.payload.sample % samples.length]!, r.payload.mutations);
}

interface Exchange {
  frames: Frame[];
  closed: boolean;
  decodeError: FrameFormatError | undefined;
}

/** Sends `stream` on a new connection; collects answers until `done` says so, the server closes, or the timeout. */
function exchange(address: string, stream: Buffer, done: (frames: readonly Frame[]) => boolean): Promise<Exchange> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    let decodeError: FrameFormatError | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${CASE_TIMEOUT_MS} ms; got ${frames.length} frames: ${frames.map((f) => `${f.requestId}/${f.method}/${f.status}`).join(' ')}`));
    }, CASE_TIMEOUT_MS);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames, closed, decodeError });
    };
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      try {
        for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push({ ...f, payload: Buffer.from(f.payload) });
      } catch (err) {
        if (!(err instanceof FrameFormatError)) throw err;
        decodeError = err;
        finish(false);
        return;
      }
      if (done(frames)) finish(false);
    });
    socket.on('error', () => undefined); // a reset after the server's close shows as 'close'
    socket.on('close', () => finish(true));
    socket.write(stream);
  });
}

function faultFrame(fault: Fault, lastId: number): Buffer {
  switch (fault) {
    case 'bad-flags': {
      const f = encodeFrame(lastId + 1, Methods.Ping.id, 0, 0, 0, new Uint8Array(0));
      f[10] = 0x80;
      return f;
    }
    case 'oversize': {
      const f = encodeFrame(lastId + 1, Methods.Ping.id, 0, 0, 0, new Uint8Array(0));
      f.writeUInt32BE(0xffffffff, 0);
      return f;
    }
    case 'request-id-0':
      return encodeFrame(0, Methods.Ping.id, 0, 0, 0, new Uint8Array(0));
    case 'reused-id':
      // A Status call stays in flight briefly; reusing its id at once is a protocol error (if it is still in flight).
      return Buffer.concat([encodeFrame(lastId + 1, Methods.Status.id, 0, 0, 0, new Uint8Array(0)), encodeFrame(lastId + 1, Methods.Status.id, 0, 0, 0, new Uint8Array(0))]);
    case 'garbage':
      return Buffer.from('GET / HTTP/1.1\r\n\r\n');
  }
}

/**
 * A connection error: method 0, ERROR, PROTOCOL_ERROR or FRAME_TOO_LARGE. Its request id is 0, or the
 * offending frame's when its header was readable (an oversize frame, unknown flag bits).
 */
function isConnectionError(f: Frame): boolean {
  return f.method === 0 && (f.flags & Flag.ERROR) !== 0 && CONNECTION_STATUSES.has(f.status);
}
/** Framing faults; UNAUTHENTICATED when an Authenticate request presented a bad token (the server then closes). */
const CONNECTION_STATUSES = new Set<number>([Status.PROTOCOL_ERROR, Status.FRAME_TOO_LARGE, Status.UNAUTHENTICATED].map(num));

/** Why one answer frame breaks the protocol's promises, or undefined when it keeps them. */
function badAnswer(f: Frame, sent: ReadonlyMap<number, number>): string | undefined {
  if ((f.flags & Flag.RESPONSE) === 0) return `frame ${f.requestId} is not a response`;
  if (isConnectionError(f)) return undefined;
  if (f.requestId === 0) {
    if ((f.flags & Flag.GOAWAY) !== 0) return undefined;
    if ((f.flags & Flag.ERROR) === 0 || !CONNECTION_STATUSES.has(f.status)) return `connection frame with flags ${f.flags} status ${f.status}`;
    return undefined;
  }
  const method = sent.get(f.requestId);
  if (method === undefined) return `an answer to request ${f.requestId}, which was not sent`;
  if ((f.flags & Flag.ERROR) !== 0) {
    if (!DOCUMENTED_STATUSES.has(f.status)) return `request ${f.requestId} (method ${method}) failed with undocumented status ${f.status}`;
    let detail: ReturnType<typeof ErrorDetail.decode>;
    try {
      detail = ErrorDetail.decode(f.payload);
    } catch (err) {
      return `request ${f.requestId}: unreadable ErrorDetail (${(err as Error).message})`;
    }
    if (num(detail.status) !== f.status) return `request ${f.requestId}: ErrorDetail status ${detail.status} != frame status ${f.status}`;
    if (num(detail.status) === num(Status.INTERNAL)) return `request ${f.requestId} (method ${method}) failed INTERNAL: ${detail.message}`;
    if (!BY_ID.has(method) && f.status !== num(Status.UNKNOWN_METHOD)) return `unserved method ${method} answered status ${f.status}`;
    return undefined;
  }
  if (f.status !== num(Status.OK)) return `request ${f.requestId}: a success with status ${f.status}`;
  if (f.method !== method) return `request ${f.requestId}: answered as method ${f.method}, sent as ${method}`;
  const m = BY_ID.get(method);
  if (m === undefined) return `unserved method ${method} answered with a success`;
  try {
    m.response.decode(f.payload);
  } catch (err) {
    return `request ${f.requestId}: the ${m.name} response does not decode (${(err as Error).message})`;
  }
  return undefined;
}

t.test('fuzzed requests to a real node get documented answers; the node stays up with its data', async (t) => {
  const node = await startFuzzNode(t);
  const dog = startWatchdog('rpc-handlers');
  t.teardown(() => dog.close());
  const faultArb = fc.option(fc.constantFrom<Fault[]>('bad-flags', 'oversize', 'request-id-0', 'reused-id', 'garbage'), { freq: 4, nil: undefined });
  const property = fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 6 }), faultArb, dog.guard(async (requests: RequestSpec[], fault: Fault | undefined) => {
    const sent = new Map<number, number>();
    const frames = requests.map((r, i) => {
      sent.set(i + 1, r.method);
      return encodeFrame(i + 1, r.method, 0, 0, r.timeoutMs, payloadOf(r));
    });
    if (fault !== undefined) {
      // The fault's own request ids may be answered (a Status before its duplicate is seen): expect them too.
      sent.set(requests.length + 1, Methods.Status.id);
    }
    const stream = Buffer.concat([encodePreface(), ...frames, ...(fault === undefined ? [] : [faultFrame(fault, requests.length)])]);
    const reusedId = requests.length + 1;
    // Done when the server gave up on the connection, or every request (both copies of a reused id,
    // when the first finished before the second arrived) has its answer.
    const answered = (fs: readonly Frame[]): boolean =>
      fs.some(isConnectionError) ||
      (requests.every((_, i) => fs.some((f) => f.requestId === i + 1)) &&
        (fault === undefined || (fault === 'reused-id' && fs.filter((f) => f.requestId === reusedId).length === 2)));
    const out = await exchange(node.rpc, stream, answered);
    if (out.decodeError !== undefined) throw new Error(`the server sent an undecodable stream: ${out.decodeError.message}`);
    const seen = new Set<number>();
    let connectionError = false;
    for (const f of out.frames) {
      const why = badAnswer(f, sent);
      if (why !== undefined) throw new Error(why);
      if (isConnectionError(f)) connectionError = true;
      else if (f.requestId === 0) continue;
      else if (seen.has(f.requestId) && !(fault === 'reused-id' && f.requestId === reusedId)) throw new Error(`request ${f.requestId} answered twice`);
      seen.add(f.requestId);
    }
    if (fault === undefined && !connectionError) {
      const missing = requests.map((_, i) => i + 1).filter((id) => !seen.has(id));
      if (missing.length > 0) throw new Error(`requests ${missing.join(', ')} got no answer (connection ${out.closed ? 'closed' : 'open'})`);
    } else if (fault !== undefined && fault !== 'reused-id' && !connectionError) {
      throw new Error(`the fault ${fault} got no connection error`);
    }
    if (connectionError && fault === undefined && !requests.some((r) => BY_ID.get(r.method)?.name === 'Authenticate')) {
      throw new Error('a connection error without a framing fault or an Authenticate request');
    }
    if (!node.alive()) throw new Error('the node exited');
  }));
  await checkProperty('rpc-handlers', property, RUNS);
  await node.intact();
  t.pass(`${RUNS} fuzzed connections; the node is up and its sentinel key reads back`);
});
