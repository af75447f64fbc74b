/**
 * TLS, mutual TLS and tokens on the RPC port (rpc/SECURITY.md): who may call what, and that every refusal
 * is a typed error for the caller and a logged reason for the operator.
 */
import t from 'tap';
import type { Test } from 'tap';
import { RpcClient } from '../../rpc/client.js';
import type { ClientOptions } from '../../rpc/client.js';
import { ConnectionError, PermissionDeniedError, UnauthenticatedError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import { TokenTable } from '../../rpc/security.js';
import { RpcServer } from '../../rpc/server.js';
import { testCertificates } from '../support/test-certs.js';
import { waitFor } from '../support/wait.js';

const certs = testCertificates();
const TOKEN = 'token-for-ci-0123456789abcdef';

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function capturingLogger(lines: Logged[]): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, fields });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A TLS server as node n1 would run it: Ping open, Get for clients, Gossip for nodes; Get answers who called. */
async function secureServer(t: Test, serverCert = certs.node('n1')) {
  const logged: Logged[] = [];
  const server = new RpcServer({
    tls: { ca: certs.ca, cert: serverCert.cert, key: serverCert.key },
    tokens: new TokenTable(new Map([['ci', TOKEN]])),
    logger: capturingLogger(logged),
  });
  server.handle(Methods.Ping, () => ({ nodeId: 'n1' }));
  server.handle(Methods.Get, (_req, ctx) => ({ value: Buffer.from(`${ctx.identity?.role}:${ctx.identity?.name}:${ctx.identity?.via}`) }));
  server.handle(Methods.Gossip, () => ({}));
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: RpcClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });
  const client = (opts: ClientOptions) => {
    const c = new RpcClient({ connectTimeoutMs: 5000, backoffBaseMs: 1, backoffMaxMs: 1, ...opts });
    clients.push(c);
    return c;
  };
  return { addr: `127.0.0.1:${port}`, logged, client };
}

const get = (c: RpcClient, addr: string) => c.call(addr, Methods.Get, { key: Buffer.from('k') }, { timeoutMs: 5000 }).then((r) => Buffer.from(r.value).toString());
const gossip = (c: RpcClient, addr: string) => c.call(addr, Methods.Gossip, {}, { timeoutMs: 5000 });

t.test('a node certificate of the cluster may call node-to-node methods and the client API', async (t) => {
  const s = await secureServer(t);
  const n2 = s.client({ tls: { ca: certs.ca, cert: certs.node('n2').cert, key: certs.node('n2').key } });
  await gossip(n2, s.addr);
  t.equal(await get(n2, s.addr), 'node:n2:certificate', 'the handler sees who called');
});

t.test('a client certificate may call the client API but not node-to-node methods', async (t) => {
  const s = await secureServer(t);
  const alice = s.client({ tls: { ca: certs.ca, cert: certs.client('alice').cert, key: certs.client('alice').key } });
  t.equal(await get(alice, s.addr), 'client:alice:certificate');
  await t.rejects(gossip(alice, s.addr), PermissionDeniedError, 'Gossip refused with PERMISSION_DENIED');
  const refusal = s.logged.find((l) => l.msg === 'refused Gossip');
  t.ok(refusal, 'the refusal is logged');
  t.match(String(refusal?.fields?.reason), /for nodes of the cluster; client alice/);
});

t.test('a token authenticates a client without a certificate; a wrong one closes the connection', async (t) => {
  const s = await secureServer(t);
  const good = s.client({ tls: { ca: certs.ca }, token: TOKEN });
  t.equal(await get(good, s.addr), 'client:ci:token');
  await t.rejects(gossip(good, s.addr), PermissionDeniedError, 'a token is never a node credential');

  const bad = s.client({ tls: { ca: certs.ca }, token: 'not-the-token' });
  await t.rejects(get(bad, s.addr), UnauthenticatedError, 'a wrong token: UNAUTHENTICATED');
  t.ok(s.logged.some((l) => l.msg === 'connection refused: bad token' && l.level === 'warn'), 'and logged');
});

t.test('without credentials only the open methods answer', async (t) => {
  const s = await secureServer(t);
  const anon = s.client({ tls: { ca: certs.ca } });
  const pong = await anon.call(s.addr, Methods.Ping, {}, { timeoutMs: 5000 });
  t.equal(pong.nodeId, 'n1', 'Ping is open (liveness checks)');
  await t.rejects(get(anon, s.addr), { constructor: UnauthenticatedError, message: /presented no certificate and no token/ });
  await t.rejects(gossip(anon, s.addr), { constructor: UnauthenticatedError, message: /needs a node certificate/ });
});

t.test("a node whose certificate another CA signed cannot gossip, and the node says why", async (t) => {
  const s = await secureServer(t);
  const rogue = s.client({ tls: { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key } });
  await t.rejects(gossip(rogue, s.addr), { constructor: UnauthenticatedError, message: /CN=rogue\) is not signed by this cluster's CA/ });
  t.ok(s.logged.some((l) => l.msg === 'refused Gossip' && /not signed by this cluster's CA/.test(String(l.fields?.reason))), 'logged with the reason');
});

t.test('a client speaking plain TCP to a TLS port is cut off at the handshake, and it is logged', async (t) => {
  const s = await secureServer(t);
  const plain = s.client({ connectTimeoutMs: 2000 });
  await t.rejects(plain.call(s.addr, Methods.Ping, {}, { timeoutMs: 5000 }), ConnectionError);
  await waitFor(() => s.logged.some((l) => l.msg === 'connection refused: TLS handshake failed'), 20_000, 'the handshake failure log line');
});

t.test('clients check the server: an unknown CA, or a client certificate posing as a node, is refused', async (t) => {
  const s = await secureServer(t);
  const distrustful = s.client({ tls: { ca: certs.rogueCa } });
  await t.rejects(distrustful.call(s.addr, Methods.Ping, {}, { timeoutMs: 5000 }), { constructor: ConnectionError, message: /certificate/ });

  const impostor = await secureServer(t, certs.client('alice'));
  const c = s.client({ tls: { ca: certs.ca } });
  await t.rejects(c.call(impostor.addr, Methods.Ping, {}, { timeoutMs: 5000 }), { constructor: ConnectionError, message: /unsuitable certificate purpose|not a node certificate/ });
});

t.test('in development mode (no TLS, no tokens) nothing is checked', async (t) => {
  const server = new RpcServer();
  server.handle(Methods.Gossip, () => ({}));
  const { port } = await server.listen(0, '127.0.0.1');
  const client = new RpcClient();
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  t.same(await client.call(`127.0.0.1:${port}`, Methods.Gossip, {}, { timeoutMs: 5000 }), Methods.Gossip.response.decode(new Uint8Array(0)));
});

t.test('a pipelined request behind a bad token is not served, and the refusal is one log line', async (t) => {
  const s = await secureServer(t);
  const bad = s.client({ tls: { ca: certs.ca }, token: 'not-the-token-either' });
  const results = await Promise.allSettled([get(bad, s.addr), get(bad, s.addr), get(bad, s.addr)]);
  t.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof UnauthenticatedError), 'every call fails UNAUTHENTICATED');
  t.equal(s.logged.filter((l) => l.level === 'warn').length, 1, 'one warn line: the bad token');
  t.notOk(s.logged.some((l) => l.msg.startsWith('refused Get')), 'the requests behind it were never dispatched');
});

t.test('callers without credentials cannot learn which methods a node serves', async (t) => {
  const s = await secureServer(t);
  const anon = s.client({ tls: { ca: certs.ca } });
  await t.rejects(anon.call(s.addr, Methods.StreamDone, {}, { timeoutMs: 5000 }), UnauthenticatedError, 'a method the server does not serve');
});

t.test('at the connection limit a node certificate is still let in', async (t) => {
  const server = new RpcServer({ tls: { ca: certs.ca, cert: certs.node('n1').cert, key: certs.node('n1').key }, maxConnections: 1 });
  server.handle(Methods.Gossip, () => ({}));
  server.handle(Methods.Ping, () => ({ nodeId: 'n1' }));
  const { port } = await server.listen(0, '127.0.0.1');
  const addr = `127.0.0.1:${port}`;
  const anon = new RpcClient({ tls: { ca: certs.ca } });
  const alice = new RpcClient({ tls: { ca: certs.ca, cert: certs.client('alice').cert, key: certs.client('alice').key } });
  const n2 = new RpcClient({ tls: { ca: certs.ca, cert: certs.node('n2').cert, key: certs.node('n2').key } });
  t.teardown(async () => {
    for (const c of [anon, alice, n2]) c.destroy();
    await server.stop();
  });
  await anon.call(addr, Methods.Ping, {}, { timeoutMs: 5000 });
  await t.rejects(alice.call(addr, Methods.Ping, {}, { timeoutMs: 5000 }), { message: /limit of 1 connections/ }, 'a client beyond the limit is refused');
  await n2.call(addr, Methods.Gossip, {}, { timeoutMs: 5000 });
  t.pass('a node gets in');
});

t.test('a TLS client that cannot reach a port says so, not that the handshake was refused', async (t) => {
  const server = new RpcServer();
  const { port } = await server.listen(0, '127.0.0.1');
  await server.stop();
  const c = new RpcClient({ tls: { ca: certs.ca } });
  t.teardown(() => c.destroy());
  const err = await c.call(`127.0.0.1:${port}`, Methods.Ping, {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
  t.ok(err instanceof ConnectionError && !err.tlsRefused, 'tlsRefused is false for a closed port');
  t.throws(() => new RpcClient({ token: 'x' }), /token needs tls/, 'an RpcClient will not send a token in clear text');
});

