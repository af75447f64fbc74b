/**
 * A real `mydatastore server`'s logs: every line on its stderr is a JSON record with time, level, node id
 * and component; an HTTP request's X-Request-Id comes back in the response and names the request's log
 * line; --log-level and MYDATASTORE_LOG_LEVEL choose what is printed, and a bad level stops the command.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { cli } from '../support/cli.js';
import { logRecords } from '../support/log-lines.js';
import { exited, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a node logs one JSON record per line, with node id and component, and request ids for HTTP requests', async (t) => {
  const dir = tempDir(t);
  const args = ['server', '--node-id', 'logs1', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--data', join(dir, 'logs1'), '--log-level', 'debug'];
  const node = await startNode(t, cli, args, /"msg":"listening on 127\.0\.0\.1:(\d+)/);
  const http = logRecords(node.output()).find((r) => r.msg.startsWith('http gateway on '))?.msg.slice('http gateway on '.length);
  t.ok(http !== undefined, 'the gateway address is in the log');

  const given = await fetch(`${http}/kv/no-such-key`, { headers: { 'X-Request-Id': 'req-test-42' } });
  await given.arrayBuffer();
  t.equal(given.headers.get('x-request-id'), 'req-test-42', 'the caller\'s request id is echoed');
  const made = await fetch(`${http}/health`);
  await made.arrayBuffer();
  t.match(made.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'a request without one gets one made up');
  await waitFor(() => logRecords(node.output()).some((r) => r.requestId === 'req-test-42'), 10_000, 'the request\'s log line');
  const line = logRecords(node.output()).find((r) => r.requestId === 'req-test-42')!;
  t.match(line, { nodeId: 'logs1', component: 'http', level: 'debug', msg: 'HTTP request', fields: { method: 'GET', op: 'get' } }, 'the request\'s line names it');

  node.child.kill('SIGTERM');
  t.equal(await exited(node.child), 0, 'stops cleanly');
  const lines = node.output().split('\n').filter((l) => l !== '');
  const records = logRecords(node.output());
  t.equal(records.length, lines.length, `every output line is a log record (${lines.length} lines)`);
  t.ok(records.every((r) => r.nodeId === 'logs1' && r.component !== '' && !Number.isNaN(Date.parse(r.time))), 'each with node id, component and time');
  const components = new Set(records.map((r) => r.component));
  for (const c of ['node', 'raft', 'membership', 'http']) t.ok(components.has(c), `component ${c} logs`);
  t.ok(records.some((r) => r.level === 'debug'), '--log-level debug prints debug lines');
  t.equal(records.at(-1)?.msg, 'stopped', 'the last line is the stop');
});

/** Runs `mydatastore server ...args` with `env` added, to completion. */
function server(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'server', ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

t.test('MYDATASTORE_LOG_LEVEL sets the level; a bad level stops the command before anything starts', async (t) => {
  const dir = tempDir(t);
  const [env, bad, badFlag] = await Promise.all([
    server(['--print-config'], { MYDATASTORE_LOG_LEVEL: 'warn' }),
    server(['--data', join(dir, 'never')], { MYDATASTORE_LOG_LEVEL: 'verbose' }),
    server(['--data', join(dir, 'never'), '--log-level', 'loud'], {}),
  ]);
  t.match(JSON.parse(env.stdout), { settings: { logLevel: { value: 'warn', source: 'env' } } });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /MYDATASTORE_LOG_LEVEL.*--log-level must be one of debug, info, warn, error \(got "verbose"\)/);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /--log-level must be one of debug, info, warn, error \(got "loud"\)/);
});
