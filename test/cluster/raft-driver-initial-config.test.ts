/**
 * The bootstrap configuration (`mydatastore server --partitions/--replicas/--read-quorum/--write-quorum`)
 * reaches the committed cluster state: a bootstrapping RaftDriver given `initialConfig` commits it before
 * the first member creates the cluster; without it the defaults (P=256, N=3, R=2, W=2) stay.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { MemberRecord } from '../../cluster/membership/types.js';
import { RaftDriver } from '../../cluster/raft/driver.js';
import { DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../../cluster/state/config.js';
import { MemFileSystem } from '../../lsm/index.js';
import { waitFor } from '../support/wait.js';

const self: MemberRecord = { id: 'a', address: '127.0.0.1:1', incarnation: 1, state: 'alive', meta: {} };

async function bootstrap(t: Test, initialConfig?: ClusterConfig): Promise<RaftDriver> {
  const driver = await RaftDriver.open({
    id: 'a',
    address: self.address,
    clusterId: 'test',
    dir: '/raft',
    fs: new MemFileSystem(),
    bootstrap: true,
    server: { handle: () => undefined } as never,
    client: { call: () => Promise.resolve({}), destroy: () => undefined } as never,
    membership: { members: () => [self] },
    tickMs: 10,
    planIntervalMs: 20,
    ...(initialConfig === undefined ? {} : { initialConfig }),
  });
  driver.start();
  t.teardown(() => driver.stop());
  await waitFor(() => driver.clusterState().created, 10_000, 'the cluster to be created');
  return driver;
}

t.test('a bootstrapping leader commits the initial configuration with the cluster', async (t) => {
  const config = { partitions: 16, replicas: 1, readQuorum: 1, writeQuorum: 1 };
  const driver = await bootstrap(t, config);
  t.same(driver.clusterState().config, config, 'P=16 N=1 R=1 W=1 committed');
  t.same(driver.clusterState().members.map((m) => m.id), ['a'], 'with the bootstrapping node as the first member');
});

t.test('without one, the defaults stay', async (t) => {
  const driver = await bootstrap(t);
  t.same(driver.clusterState().config, DEFAULT_CLUSTER_CONFIG);
});
