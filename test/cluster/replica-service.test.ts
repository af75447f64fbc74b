/**
 * ReplicaService: LWW writes and reads on an owner, WRONG_OWNER with the replica's epoch for a key it does
 * not own (directly and over a real RPC server), hinted writes kept in the hint store, and typed
 * INVALID_ARGUMENT / PERMISSION_DENIED / UNAVAILABLE for bad or untimely requests.
 */
import Long from 'long';
import t, { type Test } from 'tap';
import { ReplicaRequestError, ReplicaWrongOwnerError, NoRingError, recordFromPb, recordToPb } from '../../cluster/replica-service.js';
import { ReplicaService } from '../../cluster/replica-service.js';
import { decodeRecord, type StoredRecord } from '../../cluster/storage/record.js';
import { ringOf } from '../../cluster/state/cluster-state.js';
import { RpcClient } from '../../rpc/client.js';
import { InvalidArgumentError, PermissionDeniedError, UnavailableError, WrongOwnerError } from '../../rpc/errors.js';
import { silentLogger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { clusterState, makeFixture, type Fixture } from './data-fixture.js';

const IDS = ['a', 'b', 'c', 'd'];
const state = clusterState(IDS, { epoch: 9 });
const ring = ringOf(state);

/** A key that `node` owns (or, with owned = false, does not own) under the 4-node ring, N=3. */
function keyFor(node: string, owned: boolean): Buffer {
  for (let i = 0; ; i++) {
    const key = Buffer.from(`key-${i}`);
    if (ring.nodesFor(key).includes(node) === owned) return key;
  }
}

function rec(key: Uint8Array, value: string, ms: number, extra: Partial<StoredRecord> = {}): StoredRecord {
  return { value: Buffer.from(value), timestamp: { physicalMs: ms, logical: 0, node: 'x' }, epoch: 9, partition: ring.partitionOf(key), tombstone: false, ...extra };
}

t.test('an owner stores records last-write-wins and reads them back', async (t) => {
  const f = await makeFixture(t, IDS, state);
  const a = f.node('a').service;
  const key = keyFor('a', true);
  t.equal(await a.write([{ key, record: rec(key, 'new', 200) }], undefined), 1, 'a first version is applied');
  t.equal(await a.write([{ key, record: rec(key, 'old', 100) }], undefined), 0, 'an older version is not');
  t.equal(Buffer.from((await a.read(key))!.value).toString(), 'new', 'the newest version stays');
  t.equal(await a.read(keyForMissing(key)), undefined, 'an owned key nothing wrote reads as undefined');
});

t.test('a replica refuses keys it does not own, with its epoch; a hinted write goes to its hint store', async (t) => {
  const f = await makeFixture(t, IDS, state);
  const a = f.node('a');
  const key = keyFor('a', false);
  const err = await a.service.write([{ key, record: rec(key, 'v', 100) }], undefined).catch((e: unknown) => e);
  t.ok(err instanceof ReplicaWrongOwnerError, 'a write of a key it does not own is refused');
  t.equal((err as ReplicaWrongOwnerError).epoch, 9, 'the error carries the replica\'s committed epoch');
  t.equal((err as ReplicaWrongOwnerError).code, 'CLUSTER_WRONG_OWNER');
  await t.rejects(a.service.read(key), ReplicaWrongOwnerError, 'so is a read');
  t.equal(await a.store.get(key), undefined, 'nothing was stored');

  const owner = ring.nodesFor(key)[0]!;
  t.equal(await a.service.write([{ key, record: rec(key, 'hinted', 100) }], owner), 1, 'a hinted write for an owner is accepted');
  t.equal(await a.store.get(key), undefined, 'it is not in the stand-in\'s replica store');
  const hints = [];
  for await (const h of a.hints.forOwner(owner)) hints.push(h);
  t.equal(hints.length, 1, 'it is one hint for the owner');
  t.equal(Buffer.from(decodeRecord(hints[0]!.record).value).toString(), 'hinted', 'holding the record');
});

t.test('bad input is refused with a typed error, never a crash', async (t) => {
  const f = await makeFixture(t, IDS, state);
  const a = f.node('a').service;
  const key = keyFor('a', true);
  await t.rejects(a.write([{ key: Buffer.alloc(0), record: rec(key, 'v', 1) }], undefined), ReplicaRequestError, 'empty key');
  await t.rejects(a.write([{ key, record: rec(key, 'v', 1, { partition: (ring.partitionOf(key) + 1) % 64 }) }], undefined), ReplicaRequestError, 'partition not the key\'s');
  t.throws(() => recordFromPb({ key, logical: 1, node: '' }), ReplicaRequestError, 'record without an HLC node id');
  t.throws(() => recordFromPb({ key, node: 'x', tombstone: true, value: Buffer.from('v') }), ReplicaRequestError, 'tombstone with a value');
  t.throws(() => recordFromPb(null), ReplicaRequestError, 'no record');
  const back = recordFromPb(recordToPb(rec(key, 'v', 1234), key));
  t.same(back.record, { ...rec(key, 'v', 1234), value: back.record.value }, 'recordToPb/recordFromPb round-trip');

  const noRing = new ReplicaService({ nodeId: 'a', clusterId: 'c', store: f.node('a').store, hints: f.node('a').hints, view: () => undefined });
  await t.rejects(noRing.read(key), NoRingError, 'no committed ring yet');
});

t.test('over RPC: WRONG_OWNER with epoch, INVALID_ARGUMENT, PERMISSION_DENIED, UNAVAILABLE', async (t) => {
  const f = await makeFixture(t, IDS, state);
  const { client, address, from } = await serveA(t, f);
  const own = keyFor('a', true);
  const other = keyFor('a', false);

  const res = await client.call(address, Methods.ReplicaWrite, { from, records: [recordToPb(rec(own, 'v', 5), own)] });
  t.equal(res.applied, 1, 'a write of an owned key is applied');
  const read = await client.call(address, Methods.ReplicaRead, { from, key: own });
  t.ok(read.found && Buffer.from(read.record!.value!).toString() === 'v', 'and read back over RPC');
  t.notOk((await client.call(address, Methods.ReplicaRead, { from, key: keyForMissing(own) })).found, 'a missing owned key is found = false');

  const wrong = await client.call(address, Methods.ReplicaWrite, { from, records: [recordToPb(rec(other, 'v', 5), other)] }).catch((e: unknown) => e);
  t.ok(wrong instanceof WrongOwnerError, 'a key it does not own: WRONG_OWNER');
  t.equal((wrong as WrongOwnerError).epoch, 9n, 'ErrorDetail carries epoch 9');
  await t.rejects(client.call(address, Methods.ReplicaWrite, { from, records: [] }), InvalidArgumentError, 'no records: INVALID_ARGUMENT');
  await t.rejects(client.call(address, Methods.ReplicaRead, { from, key: Buffer.alloc(70_000) }), InvalidArgumentError, 'a key over 64 KiB: INVALID_ARGUMENT');
  await t.rejects(client.call(address, Methods.ReplicaWrite, { from, records: [{ key: own, node: 'x', logical: 1, partition: 1_000_000 }] }), InvalidArgumentError, 'a bad partition: INVALID_ARGUMENT');
  await t.rejects(client.call(address, Methods.ReplicaRead, { from: { clusterId: 'other' }, key: own }), PermissionDeniedError, 'another cluster: PERMISSION_DENIED');
  f.setState({ ...state, created: false });
  await t.rejects(client.call(address, Methods.ReplicaRead, { from, key: own }), UnavailableError, 'no committed ring: UNAVAILABLE');
});

t.test('over RPC: a ReplicaWrite with sync is on disk when answered; one without waits for the periodic sync', async (t) => {
  const f = await makeFixture(t, IDS, state, { syncIntervalMs: 3_600_000 });
  const { client, address, from } = await serveA(t, f);
  const durable = keyFor('a', true);
  const plain = keyForMissing(durable);
  await client.call(address, Methods.ReplicaWrite, { from, records: [recordToPb(rec(durable, 'd', 5), durable)], sync: true });
  await client.call(address, Methods.ReplicaWrite, { from, records: [recordToPb(rec(plain, 'p', 5), plain)] });
  const after = await f.node('a').crashAndReopen();
  t.equal(Buffer.from((await after.get(durable))?.value ?? []).toString(), 'd', 'the write sent with sync survives a power loss');
  t.equal(await after.get(plain), undefined, 'the one sent without it was only in the page cache');
});

/** Node a's ReplicaService on a real RPC server; a client and the envelope of a call from node b. */
async function serveA(t: Test, f: Fixture): Promise<{ client: RpcClient; address: string; from: { clusterId: string; nodeId: string; epoch: Long } }> {
  const server = new RpcServer({ logger: silentLogger });
  f.node('a').service.register(server);
  const addr = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.stop());
  const client = new RpcClient({ connectTimeoutMs: 1000, defaultTimeoutMs: 2000 });
  t.teardown(() => client.destroy());
  return { client, address: `127.0.0.1:${addr.port}`, from: { clusterId: 'c', nodeId: 'b', epoch: Long.fromNumber(9, true) } };
}

/** An owned key of node a that nothing wrote. */
function keyForMissing(written: Buffer): Buffer {
  for (let i = 0; ; i++) {
    const key = Buffer.from(`missing-${i}`);
    if (!key.equals(written) && ring.nodesFor(key).includes('a')) return key;
  }
}
