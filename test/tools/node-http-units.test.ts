/**
 * The pieces a node wires into its HTTP gateway, without processes: the KvService over the coordinator
 * (error mapping, the shared RequestGate, request events), the readiness rule, the consistency label,
 * the default HTTP address, and runServer refusing a bad cluster configuration.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import t from 'tap';
import type { ClientRequestEvent } from '../../cluster/client-requests.js';
import { consistencyLabel, isFailure } from '../../cluster/client-requests.js';
import { ConsistencyError } from '../../cluster/consistency.js';
import { RequestGate } from '../../cluster/coordinator-api.js';
import type { ReadResult, WriteResult } from '../../cluster/coordinator.js';
import { UnavailableError } from '../../cluster/quorum/errors.js';
import { NoRingError, ReplicaRequestError } from '../../cluster/replica-service.js';
import { startHttpGateway } from '../../http/gateway.js';
import { HttpError } from '../../http/http-errors.js';
import { ShuttingDownError } from '../../rpc/errors.js';
import { runServer } from '../../tools/commands/server.js';
import { CoordinatorKv, toHttpError } from '../../tools/coordinator-kv.js';
import { httpListenAddress } from '../../tools/node-http.js';
import { nodeReadiness } from '../../tools/node-readiness.js';
import type { ServerCommandOptions } from '../../tools/server-options.js';

const answer = (err: unknown) => {
  const e = toHttpError(err);
  return e instanceof HttpError ? { status: e.httpStatus, code: e.code } : e;
};

t.test('coordinator failures map to HTTP statuses and keep their code', (t) => {
  t.same(answer(new UnavailableError('write', 3, 2, 3, 1, false)), { status: 503, code: 'CLUSTER_UNAVAILABLE' }, 'quorum not met: 503');
  t.same(answer(new NoRingError('n1')), { status: 503, code: 'CLUSTER_NO_RING' }, 'no committed ring yet: 503');
  t.same(answer(new ConsistencyError('W is 4 but only N=3 replicas hold a key')), { status: 400, code: 'CLUSTER_BAD_CONSISTENCY' }, 'bad consistency: 400');
  t.same(answer(new ReplicaRequestError('key too long')), { status: 400, code: 'CLUSTER_BAD_REPLICA_REQUEST' }, 'bad key: 400');
  t.same(answer(Object.assign(new Error('value too large'), { code: 'RECORD_INVALID' })), { status: 400, code: 'RECORD_INVALID' }, 'bad record: 400');
  t.same(answer(new ShuttingDownError('draining')), { status: 503, code: 'RPC_SHUTTING_DOWN' }, 'draining: 503');
  const odd = new Error('disk on fire');
  t.equal(toHttpError(odd), odd, 'an unexpected failure is left to the gateway (500)');
  t.end();
});

function fakeCoordinator(fail?: Error) {
  const calls: Array<{ op: string; key: string; consistency: unknown; signal: boolean }> = [];
  const ts: WriteResult = { timestamp: { physicalMs: 1, logical: 0, node: 'n1' }, acks: 2 };
  const stored = new Map<string, Buffer>();
  const note = (op: string, key: Uint8Array, o: { consistency?: unknown; signal?: AbortSignal } = {}) => {
    calls.push({ op, key: Buffer.from(key).toString(), consistency: o.consistency, signal: o.signal !== undefined });
    if (fail !== undefined) throw fail;
  };
  return {
    calls,
    get: (key: Uint8Array, o?: { consistency?: unknown; signal?: AbortSignal }): Promise<ReadResult> => {
      note('get', key, o);
      const v = stored.get(Buffer.from(key).toString());
      return Promise.resolve(v === undefined ? { record: undefined, found: false } : { record: { value: v, timestamp: ts.timestamp, epoch: 1, partition: 0, tombstone: false }, found: true });
    },
    put: (key: Uint8Array, value: Uint8Array, o?: { consistency?: unknown; signal?: AbortSignal }): Promise<WriteResult> => {
      note('put', key, o);
      stored.set(Buffer.from(key).toString(), Buffer.from(value));
      return Promise.resolve(ts);
    },
    del: (key: Uint8Array, o?: { consistency?: unknown; signal?: AbortSignal }): Promise<WriteResult> => {
      note('del', key, o);
      stored.delete(Buffer.from(key).toString());
      return Promise.resolve(ts);
    },
  };
}

t.test('CoordinatorKv behind the real gateway: statuses, consistency, request events, the drain', async (t) => {
  const events: ClientRequestEvent[] = [];
  const gate = new RequestGate();
  const coordinator = fakeCoordinator();
  const failing = new RequestGate();
  const start = (kv: CoordinatorKv) => startHttpGateway({ port: 0, kv, readiness: () => ({ ready: true }), metrics: new Registry() });
  const gw = await start(new CoordinatorKv(coordinator, gate, (e) => events.push(e)));
  t.teardown(() => gw.close());
  const down = await start(new CoordinatorKv(fakeCoordinator(new UnavailableError('read', 2, 1, 3, 2, false)), failing));
  t.teardown(() => down.close());
  const url = `http://127.0.0.1:${gw.port}`;

  t.equal((await fetch(`${url}/kv/a?consistency=ALL`, { method: 'PUT', body: 'x' })).status, 200, 'PUT');
  t.equal(await (await fetch(`${url}/kv/a?consistency=2`)).text(), 'x', 'GET returns the stored value');
  t.equal((await fetch(`${url}/kv/none`)).status, 404, 'a key the coordinator does not find is 404');
  t.equal((await fetch(`${url}/kv/a`, { method: 'DELETE' })).status, 200, 'DELETE');
  t.same(coordinator.calls.map((c) => [c.op, c.consistency, c.signal]), [['put', 'ALL', true], ['get', 2, true], ['get', undefined, true], ['del', undefined, true]], 'consistency and the abort signal reach the coordinator');
  t.same(events.map((e) => [e.api, e.op, e.consistency, e.outcome]), [['http', 'put', 'ALL', 'ok'], ['http', 'get', '2', 'ok'], ['http', 'get', 'DEFAULT', 'not_found'], ['http', 'del', 'DEFAULT', 'ok']], 'one event per request');
  t.ok(events.every((e) => e.seconds >= 0 && e.seconds < 5), 'with its duration');

  const res = await fetch(`http://127.0.0.1:${down.port}/kv/a`);
  t.equal(res.status, 503, 'UnavailableError through the gateway: 503');
  t.match(await res.json(), { error: { code: 'CLUSTER_UNAVAILABLE', message: '2 of 3 replicas needed, 1 answered and 2 failed' } });

  await gate.drain(1000);
  const refused = await fetch(`${url}/kv/a`, { method: 'PUT', body: 'y' });
  t.equal(refused.status, 503, 'after the drain started (SIGTERM), HTTP requests are refused with 503');
  t.match(await refused.json(), { error: { code: 'RPC_SHUTTING_DOWN' } });
  t.equal(events.at(-1)?.outcome, 'shutting_down', 'and counted as such');
});

t.test('readiness: a member of the committed ring, with a known leader', (t) => {
  const member = (id: string, status: 'active' | 'leaving' | 'removed') => ({ id, address: '', zone: '', status, joinedEpoch: 1 });
  t.same(nodeReadiness('n1', { created: true, members: [member('n1', 'active')] }, 'n2'), { ready: true });
  t.same(nodeReadiness('n1', { created: true, members: [member('n1', 'leaving')] }, 'n1'), { ready: true }, 'a leaving member still holds data');
  t.match(nodeReadiness('n1', { created: false, members: [] }, ''), { ready: false, why: /^no committed cluster yet.*; no Raft leader is known$/ });
  t.match(nodeReadiness('n1', { created: true, members: [member('n2', 'active')] }, 'n2'), { ready: false, why: /^node n1 is not in the committed member list yet$/ });
  t.match(nodeReadiness('n1', { created: true, members: [member('n1', 'removed')] }, 'n2'), { ready: false, why: /^node n1 was removed from the cluster$/ });
  t.match(nodeReadiness('n1', { created: true, members: [member('n1', 'active')] }, ''), { ready: false, why: /^no Raft leader is known$/ });
  t.end();
});

t.test('consistency labels are a bounded set', (t) => {
  const cases: Array<[Parameters<typeof consistencyLabel>[0], string]> = [
    [undefined, 'DEFAULT'], [null, 'DEFAULT'], ['', 'DEFAULT'], ['quorum', 'QUORUM'], ['ALL', 'ALL'], ['3', '3'], [2, '2'],
    [{ named: 1 }, 'ONE'], [{ named: 0 }, 'DEFAULT'], [{ count: 5 }, '5'], [{}, 'DEFAULT'],
    [0, 'invalid'], [65, 'invalid'], [1.5, 'invalid'], ['many', 'invalid'], [{ named: 9 as 1 }, 'invalid'], [{ named: 1, count: 2 }, 'invalid'],
  ];
  for (const [input, label] of cases) t.equal(consistencyLabel(input), label, `${JSON.stringify(input)} → ${label}`);
  t.end();
});

t.test('the node logs every failed request but reads of missing keys and clients that gave up', (t) => {
  const logged = (['ok', 'not_found', 'invalid', 'unavailable', 'timeout', 'shutting_down', 'cancelled', 'error'] as const).filter(isFailure);
  t.same(logged, ['invalid', 'unavailable', 'timeout', 'shutting_down', 'error']);
  t.end();
});

t.test('the default HTTP address: RPC port + 1000, port 0 stays 0, off, or explicit', (t) => {
  t.same(httpListenAddress(undefined, { host: '127.0.0.1', port: 7001 }), { host: '127.0.0.1', port: 8001 });
  t.same(httpListenAddress(undefined, { host: '0.0.0.0', port: 0 }), { host: '0.0.0.0', port: 0 });
  t.equal(httpListenAddress('off', { host: '127.0.0.1', port: 7001 }), undefined);
  t.same(httpListenAddress('127.0.0.1:9000', { host: '127.0.0.1', port: 7001 }), { host: '127.0.0.1', port: 9000 });
  t.throws(() => httpListenAddress(undefined, { host: '127.0.0.1', port: 65000 }), /beyond 65535/);
  t.end();
});

t.test('runServer refuses R or W above N before it touches anything', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-bad-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = process.exitCode;
  t.teardown(() => void (process.exitCode = before));
  const opts: ServerCommandOptions = {
    listen: '127.0.0.1:0', nodeId: 'bad', clusterId: 'c', seeds: [], data: join(dir, 'bad'), epochInterval: 1000, voters: 3,
    removeDeadAfter: 60_000, raftTick: 50, snapshotEntries: 1000, logLevel: 'error', maxFrameSize: 1 << 20, maxInFlight: 8192, maxInFlightBytes: 1 << 28, leaveTimeoutMs: 100,
    maxValueBytes: 1 << 20, requestTimeout: 1000, sloppyQuorum: false, durableWrites: false, syncInterval: 100, blockCache: 8 << 20, tombstoneGrace: 1000, hintMaxBytes: 1 << 20, hintReplayInterval: 500,
    partitions: 16, replicas: 3, readQuorum: 4, writeQuorum: 2,
  };
  await runServer(opts);
  t.equal(process.exitCode, 1, 'exit status 1');
  t.notOk(existsSync(join(dir, 'bad')), 'no data directory was created');
});
