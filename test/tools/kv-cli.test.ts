import t, { type Test } from 'tap';
import { UnavailableError } from '../../rpc/errors.js';
import type { FakeKvServer } from '../client/fake-kv-server.js';
import { deadAddress, startFakeKvServer } from '../client/fake-kv-server.js';
import { mydatastore } from '../support/cli.js';

async function fake(t: Test): Promise<FakeKvServer> {
  const s = await startFakeKvServer();
  t.teardown(() => s.stop());
  return s;
}

t.test('put, get and del from the shell; get prints the exact value', async (t) => {
  const s = await fake(t);
  let r = await mydatastore('put', 'greeting', 'hello world', '--node', s.address, '--consistency', 'ALL');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'OK\n');
  t.same(s.data.get('greeting'), Buffer.from('hello world'));
  r = await mydatastore('get', 'greeting', '--node', s.address, '-c', '1');
  t.equal(r.code, 0);
  t.equal(r.stdout, 'hello world', 'no newline added when stdout is not a terminal');
  t.same(s.consistency, [3, 1], 'the consistency travelled with each request');
  r = await mydatastore('del', 'greeting', '--node', s.address);
  t.equal(r.code, 0);
  t.notOk(s.data.has('greeting'));
});

t.test('get of a missing key prints a message on stderr and exits 1', async (t) => {
  const s = await fake(t);
  const r = await mydatastore('get', 'nothing', '--node', s.address);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, /\(not found\) the key "nothing" has no value/);
  await mydatastore('put', 'empty', '', '--node', s.address);
  const e = await mydatastore('get', 'empty', '--node', s.address);
  t.equal(e.code, 0, 'an empty value is a value');
  t.equal(e.stdout, '');
});

t.test('--node takes a list and fails over; MYDATASTORE_NODE sets the default', async (t) => {
  const s = await fake(t);
  const dead = await deadAddress();
  const r = await mydatastore('put', 'k', 'v', '--node', `${dead},${s.address}`);
  t.equal(r.code, 0, r.stderr);
  process.env.MYDATASTORE_NODE = s.address;
  t.teardown(() => delete process.env.MYDATASTORE_NODE);
  const g = await mydatastore('get', 'k');
  t.equal(g.code, 0, g.stderr);
  t.equal(g.stdout, 'v');
});

t.test('failures exit 2 with the error code and what it means', async (t) => {
  const s = await fake(t);
  s.failWith = new UnavailableError('write quorum not reached', { acks: 1, required: 2 });
  let r = await mydatastore('put', 'k', 'v', '--node', s.address);
  t.equal(r.code, 2);
  t.match(r.stderr, /RPC_UNAVAILABLE: write quorum not reached \(1 of 2 replicas acknowledged\)/);
  r = await mydatastore('get', 'k', '--node', await deadAddress(), '--timeout', '2000');
  t.equal(r.code, 2);
  t.match(r.stderr, /RPC_CONNECTION/);
  t.match(r.stderr, /is a node running at 127\.0\.0\.1:\d+\?/);
  r = await mydatastore('get', 'k', '--consistency', 'MOST');
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown consistency "MOST"/);
  r = await mydatastore('put', 'k');
  t.equal(r.code, 2, 'a missing argument is a usage error');
  r = await mydatastore('get', '--help');
  t.equal(r.code, 0);
  t.match(r.stdout, /Exit codes: 0 success; 1 "get" of a key that has no value/);
});
