/**
 * RpcAntiEntropyTransport (cluster/antientropy/peers.ts) against a peer's real ReplicaService on an
 * in-process RPC server: a session's push is fdatasynced by the peer before its ack, since that ack lets
 * the range be marked verified (ANTIENTROPY.md), so a power loss of the peer afterwards keeps it.
 */
import t from 'tap';
import { RpcAntiEntropyTransport } from '../../cluster/antientropy/peers.js';
import { RingCache } from '../../cluster/coordinator-ring.js';
import type { StoredRecord } from '../../cluster/storage/record.js';
import { RpcClient } from '../../rpc/client.js';
import { silentLogger } from '../../rpc/logger.js';
import { RpcServer } from '../../rpc/server.js';
import { clusterState, makeFixture } from './data-fixture.js';

const IDS = ['a', 'b', 'c'];

t.test('a push to a peer is on its disk when acknowledged', async (t) => {
  // No periodic sync within the test: only a write's own fdatasync can save it from a power loss.
  const f = await makeFixture(t, IDS, clusterState(IDS), { syncIntervalMs: 3_600_000 });
  const server = new RpcServer({ logger: silentLogger });
  f.node('b').service.register(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const client = new RpcClient({ connectTimeoutMs: 1000 });
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  // a's view of the ring, with b at the server's address.
  const state = { ...f.state(), members: f.state().members.map((m) => (m.id === 'b' ? { ...m, address: `127.0.0.1:${port}` } : m)) };
  const view = new RingCache(() => state).current()!;
  const record = (key: string): StoredRecord => ({ value: Buffer.from('v'), timestamp: { physicalMs: 1000, logical: 0, node: 'a' }, epoch: 3, partition: view.ring.partitionOf(Buffer.from(key)), tombstone: false });

  const peer = new RpcAntiEntropyTransport({ client, nodeId: 'a', clusterId: 'c' }).peer('b', view);
  t.equal(await peer.write([{ key: Buffer.from('pushed'), record: record('pushed') }]), 1, 'b applied the pushed record');
  // A default write after the push: it shows the power loss below takes what was not synced.
  t.equal(await f.node('b').service.write([{ key: Buffer.from('default'), record: record('default') }], undefined), 1, 'b applied a default write');

  const after = await f.node('b').crashAndReopen();
  t.equal((await after.get(Buffer.from('pushed')))?.timestamp.physicalMs, 1000, 'the push survived a power loss of the peer');
  t.equal(await after.get(Buffer.from('default')), undefined, 'the default write after it did not (the loss window)');
});
