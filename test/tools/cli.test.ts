import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cli, mydatastore } from '../support/cli.js';
import { exited, startNode } from '../support/processes.js';

t.test('--version and --help explain the command', async (t) => {
  const v = await mydatastore('--version');
  t.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const help = await mydatastore('--help');
  t.match(help.stdout, /server/);
  t.match(help.stdout, /ping/);
});

t.test('mydatastore ping reaches a running server, which stops cleanly on SIGTERM', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'mydatastore-cli-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const srv = await startNode(t, cli, ['server', '--listen', '127.0.0.1:0', '--node-id', 'n1', '--data', data], /listening on 127\.0\.0\.1:(\d+)/);
  const res = await mydatastore('ping', `127.0.0.1:${srv.match}`, '--count', '2', '--interval', '10');
  t.equal(res.code, 0, 'exit code 0 when every ping is answered');
  t.match(res.stdout, /reply from 127\.0\.0\.1:\d+: node=n1 .*seq=2/);
  t.match(res.stdout, /2 sent, 2 answered/);
  srv.child.kill('SIGTERM');
  t.equal(await exited(srv.child), 0);
  t.match(srv.output(), /SIGTERM received: draining/);
});

t.test('ping to nothing fails with a clear message and a non-zero exit', async (t) => {
  const res = await mydatastore('ping', '127.0.0.1:1', '--timeout', '2000');
  t.equal(res.code, 1);
  t.match(res.stdout, /no reply from 127\.0\.0\.1:1: seq=1 RPC_CONNECTION/);
});

t.test('bad arguments are refused before anything runs', async (t) => {
  const res = await mydatastore('ping', 'not-an-address');
  t.not(res.code, 0);
  t.match(res.stderr, /invalid address "not-an-address"/);
  const count = await mydatastore('ping', '127.0.0.1:7000', '--count', '0');
  t.match(count.stderr, /--count must be a positive integer/);
});
