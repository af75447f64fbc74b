/** The pure parts of the cluster bench's peers: etcd's member command lines, Redis's INFO parsing. */
import t from 'tap';
import { initialCluster, memberArgs } from '../../bench/lib/peers/etcd.js';
import type { EtcdMember } from '../../bench/lib/peers/etcd.js';
import { findExecutable } from '../../bench/lib/peers/peer-process.js';
import { onlineReplicas, parseInfo, serverArgs } from '../../bench/lib/peers/redis.js';

const members: EtcdMember[] = [
  { name: 'etcd1', clientPort: 2001, peerPort: 3001 },
  { name: 'etcd2', clientPort: 2002, peerPort: 3002 },
  { name: 'etcd3', clientPort: 2003, peerPort: 3003 },
];

t.test('etcd --initial-cluster names every member with its peer URL', (t) => {
  t.equal(initialCluster(members), 'etcd1=http://127.0.0.1:3001,etcd2=http://127.0.0.1:3002,etcd3=http://127.0.0.1:3003');
  t.end();
});

t.test('an etcd member listens and advertises its own ports', (t) => {
  const args = memberArgs(members[1]!, members, '/tmp/d/etcd2', 'tok');
  const flag = (name: string) => args[args.indexOf(name) + 1];
  t.equal(flag('--name'), 'etcd2');
  t.equal(flag('--data-dir'), '/tmp/d/etcd2');
  t.equal(flag('--listen-client-urls'), 'http://127.0.0.1:2002');
  t.equal(flag('--advertise-client-urls'), 'http://127.0.0.1:2002');
  t.equal(flag('--listen-peer-urls'), 'http://127.0.0.1:3002');
  t.equal(flag('--initial-advertise-peer-urls'), 'http://127.0.0.1:3002');
  t.equal(flag('--initial-cluster'), initialCluster(members));
  t.equal(flag('--initial-cluster-state'), 'new');
  t.equal(flag('--initial-cluster-token'), 'tok');
  t.end();
});

const INFO = [
  '# Replication',
  'role:master',
  'connected_slaves:2',
  'slave0:ip=127.0.0.1,port=6380,state=online,offset=1234,lag=0',
  'slave1:ip=127.0.0.1,port=6381,state=wait_bgsave,offset=0,lag=0',
  'master_repl_offset:1234',
  '',
].join('\r\n');

t.test('INFO parses into fields, skipping headers and blank lines, values may hold colons', (t) => {
  const info = parseInfo(`${INFO}# Other\r\nx:a:b\r\n`);
  t.equal(info.get('role'), 'master');
  t.equal(info.get('connected_slaves'), '2');
  t.equal(info.get('x'), 'a:b');
  t.equal(info.has('# Replication'), false);
  t.end();
});

t.test('only replicas in state online count', (t) => {
  t.equal(onlineReplicas(parseInfo(INFO)), 1, 'a replica still syncing is not online');
  t.equal(onlineReplicas(parseInfo(INFO.replace('wait_bgsave', 'online'))), 2);
  t.equal(onlineReplicas(parseInfo('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')), 0);
  t.end();
});

t.test('redis servers: in memory, on loopback, replicas point at the primary', (t) => {
  const primary = serverArgs(7000, '/tmp/r/p');
  t.same(primary.slice(0, 10), ['--port', '7000', '--bind', '127.0.0.1', '--dir', '/tmp/r/p', '--save', '', '--appendonly', 'no']);
  t.equal(primary.includes('--replicaof'), false);
  const replica = serverArgs(7001, '/tmp/r/r1', 7000);
  t.same(replica.slice(-3), ['--replicaof', '127.0.0.1', '7000']);
  t.end();
});

t.test('findExecutable looks along PATH', (t) => {
  t.equal(findExecutable('sh', '/nonexistent:/bin:/usr/bin')?.endsWith('/sh'), true);
  t.equal(findExecutable('no-such-binary-here', '/bin:/usr/bin'), undefined);
  t.end();
});
