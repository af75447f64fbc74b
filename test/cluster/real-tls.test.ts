/**
 * A 3-node cluster of real processes with TLS everywhere (rpc/SECURITY.md): nodes reach each other over
 * mutual TLS; clients get in with a client certificate or a token and are refused without one; a node
 * whose certificate another CA signed never joins, and both sides log why; the HTTP gateway asks for the
 * same credentials; a node listening beyond 127.0.0.1 without TLS warns.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Client } from '../../client/client.js';
import { RpcClient } from '../../rpc/client.js';
import { ConnectionError, UnauthenticatedError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { TlsMaterial } from '../../rpc/security.js';
import { statusFromPb } from '../../tools/commands/status.js';
import { startNode } from '../support/processes.js';
import type { Started } from '../support/processes.js';
import { logText } from '../support/log-lines.js';
import { testCertificates } from '../support/test-certs.js';
import { waitFor } from '../support/wait.js';
import { cli, FAST_FLAGS } from './real-cluster.js';

const certs = testCertificates();
const TOKEN = 'real-tls-test-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'mydatastore-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const tokensFile = join(dir, 'tokens');
writeFileSync(tokensFile, `# name token\nci ${TOKEN}\n`);

interface TlsNode extends Started {
  id: string;
  address: string;
  http: string;
}

const aliceTls: TlsMaterial = { ca: certs.ca, cert: certs.client('alice').cert, key: certs.client('alice').key };

async function startTlsNode(id: string, seeds: string[], pems = certs.node(id), caPath = certs.caPath): Promise<TlsNode> {
  const args = ['server', '--node-id', id, '--listen', '127.0.0.1:0', '--data', join(dir, id), '--cluster-id', 'tls', ...FAST_FLAGS];
  args.push('--tls-cert', pems.certPath, '--tls-key', pems.keyPath, '--tls-ca', caPath, '--client-tokens', tokensFile);
  args.push(...(seeds.length === 0 ? ['--bootstrap'] : ['--seeds', seeds.join(',')]));
  const s = await startNode(t, cli, args, /listening on 127\.0\.0\.1:(\d+)/);
  const http = /http gateway on (\S+)/.exec(logText(s.output()))?.[1] ?? '';
  return { ...s, id, address: `127.0.0.1:${s.match}`, http };
}

/** An HTTPS request trusting the cluster CA; resolves with status and body. */
function httpsGet(url: string, opts: { token?: string; cert?: string; key?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` };
    const req = https.get(url, { ca: certs.ca, headers, ...(opts.cert === undefined ? {} : { cert: opts.cert, key: opts.key }) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

t.test('a TLS cluster', async (t) => {
  const n1 = await startTlsNode('n1', []);
  const n2 = await startTlsNode('n2', [n1.address]);
  const n3 = await startTlsNode('n3', [n1.address, n2.address]);
  const nodes = [n1, n2, n3];
  t.teardown(() => {
    if (t.passing()) return;
    for (const n of nodes) process.stderr.write(`---- ${n.id} ----\n${n.output()}\n`);
  });
  const admin = new RpcClient({ tls: aliceTls, connectTimeoutMs: 5000 });
  t.teardown(() => admin.destroy());

  await t.test('nodes form the cluster over mutual TLS', async () => {
    await waitFor(
      async () => {
        try {
          const ss = await Promise.all(nodes.map(async (n) => statusFromPb(await admin.call(n.address, Methods.Status, {}, { timeoutMs: 5000 }))));
          return ss.every((s) => s.ringMembers.length === 3);
        } catch {
          return false;
        }
      },
      60_000,
      'a committed ring of 3 on every node',
    );
  });

  await t.test('clients with a certificate or a token read and write; without, they are refused', async (t) => {
    const withCert = new Client({ seeds: [n1.address], tls: aliceTls });
    const withToken = new Client({ seeds: [n3.address], tls: { ca: certs.ca }, token: TOKEN });
    const anonymous = new Client({ seeds: [n2.address], tls: { ca: certs.ca }, retries: 0 });
    const plain = new Client({ seeds: [n2.address], retries: 0, defaultDeadlineMs: 3000 });
    t.teardown(() => Promise.all([withCert.close(), withToken.close(), anonymous.close(), plain.close()]));
    await withCert.put('k', 'from alice');
    t.equal((await withToken.get('k'))?.toString(), 'from alice', 'a token client reads what a certificate client wrote');
    await withToken.put('k2', 'from token');
    t.equal((await withCert.get('k2'))?.toString(), 'from token');
    await t.rejects(anonymous.get('k'), UnauthenticatedError, 'no certificate, no token: UNAUTHENTICATED');
    await t.rejects(plain.get('k'), ConnectionError, 'plain TCP to a TLS port fails');
    t.throws(() => new Client({ seeds: [n1.address], token: TOKEN }), /token needs tls/, 'the client will not send a token in clear text');
  });

  await t.test('HTTPS: a bearer token or a client certificate, and probes stay open', async (t) => {
    const url = `${n2.http}/kv/k`;
    t.match(n2.http, /^https:\/\//, 'the node logs an https address');
    const none = await httpsGet(url);
    t.equal(none.status, 401);
    t.match(none.body, /HTTP_UNAUTHENTICATED/);
    t.equal((await httpsGet(url, { token: 'wrong-token-0123456789' })).status, 401, 'a wrong token is refused');
    t.same(await httpsGet(url, { token: TOKEN }), { status: 200, body: 'from alice' });
    t.same(await httpsGet(url, { cert: certs.client('alice').cert, key: certs.client('alice').key }), { status: 200, body: 'from alice' });
    t.equal((await httpsGet(`${n2.http}/health`)).status, 200, '/health needs no credentials');
    t.equal((await httpsGet(`${n2.http}/metrics`)).status, 401, '/metrics does');
    await waitFor(() => /refused HTTP request/.test(logText(n2.output())), 10_000, 'the refusal in the node log');
  });

  await t.test('a node with a certificate of another CA never joins, and both sides say why', async (t) => {
    const rogue = await startTlsNode('rogue', [n1.address], certs.rogue, certs.rogueCaPath);
    await waitFor(() => /membership: cannot reach 127\.0\.0\.1:\d+: TLS handshake with .* failed/.test(logText(rogue.output())), 30_000, 'the rogue node to log why it cannot join');
    await waitFor(() => /connection refused: TLS handshake failed/.test(logText(n1.output())), 30_000, 'n1 to log the refused handshake');
    const members = await admin.call(n1.address, Methods.Members, {}, { timeoutMs: 5000 });
    t.same(members.members.map((m) => m.nodeId).sort(), ['n1', 'n2', 'n3'], 'the cluster still has exactly its three nodes');
  });
});

t.test('listening beyond 127.0.0.1 without TLS warns; with TLS it does not', async (t) => {
  const plain = await startNode(t, cli, ['server', '--node-id', 'open', '--listen', '0.0.0.0:0', '--http', 'off', '--data', join(dir, 'open')], /listening on \S+:(\d+)/);
  t.match(logText(plain.output()), /warn .*RPC listens on 0\.0\.0\.0 without TLS: anyone who can reach it can read and write every key and join the cluster/);
  const pems = certs.node('n4');
  const secure = await startNode(
    t,
    cli,
    ['server', '--node-id', 'n4', '--listen', '0.0.0.0:0', '--http', 'off', '--data', join(dir, 'n4'), '--tls-cert', pems.certPath, '--tls-key', pems.keyPath, '--tls-ca', certs.caPath],
    /listening on \S+:(\d+)/,
  );
  t.notMatch(logText(secure.output()), /without TLS/);
});
