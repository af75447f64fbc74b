/**
 * ConnectionError.sent: false only when the request certainly never reached the server (so even a write
 * may be retried elsewhere), true when it may have been received. Checked against real sockets and a real
 * server process killed with the request in its hands.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { ConnectionError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { killAndWait, startNode } from '../support/processes.js';

const echoServer = fileURLToPath(new URL('./fixtures/echo-server.js', import.meta.url));

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

async function freedPort(): Promise<number> {
  const probe = new RpcServer();
  const { port } = await probe.listen(0, '127.0.0.1');
  await probe.stop();
  return port;
}

// The refused call's frame is written to the socket while it connects; the handshake never completes, so
// it never left this host.
t.test('a refused connection, and calls while the address backs off, were never sent', async (t) => {
  const rpc = new RpcClient({ backoffBaseMs: 60_000, random: () => 0.99 });
  t.teardown(() => rpc.destroy());
  const addr = `127.0.0.1:${await freedPort()}`;
  const refused = await errorOf(rpc.call(addr, Methods.Put, { key: Buffer.from('k') }, { timeoutMs: 5000 }));
  t.type(refused, ConnectionError);
  t.equal((refused as ConnectionError).sent, false, `refused: ${(refused as Error).message}`);
  const backingOff = await errorOf(rpc.call(addr, Methods.Put, { key: Buffer.from('k') }, { timeoutMs: 5000 }));
  t.type(backingOff, ConnectionError);
  t.match((backingOff as Error).message, /unreachable/);
  t.equal((backingOff as ConnectionError).sent, false, 'backing off: not sent');
});

t.test('a connection that breaks after the server read the request: in flight sent, queued not sent', async (t) => {
  // A peer that accepts, reads the first request, and hangs up without answering.
  const srv = net.createServer((sock) => sock.once('data', () => sock.destroy()));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const rpc = new RpcClient({ maxInFlightPerConnection: 1 });
  t.teardown(() => rpc.destroy());
  const addr = `127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  const first = errorOf(rpc.call(addr, Methods.Put, { key: Buffer.from('a') }, { timeoutMs: 5000 }));
  const queued = errorOf(rpc.call(addr, Methods.Put, { key: Buffer.from('b') }, { timeoutMs: 5000 }));
  const [e1, e2] = await Promise.all([first, queued]);
  t.type(e1, ConnectionError);
  t.equal((e1 as ConnectionError).sent, true, `in flight: may have been applied (${(e1 as Error).message})`);
  t.type(e2, ConnectionError);
  t.equal((e2 as ConnectionError).sent, false, 'queued behind the in-flight cap: never written');
});

t.test('a server process killed after receiving the request: sent', async (t) => {
  const node = await startNode(t, echoServer, ['0'], /listening (\d+)/);
  const addr = `127.0.0.1:${node.match}`;
  const rpc = new RpcClient();
  t.teardown(() => rpc.destroy());
  const hanging = errorOf(rpc.call(addr, Methods.Ping, { payload: Buffer.from('hang') }, { timeoutMs: 60_000 }));
  // Frames on one connection are read in order: once a later ping is answered, the server holds the first.
  await rpc.call(addr, Methods.Ping, { payload: Buffer.from('after') }, { timeoutMs: 10_000 });
  await killAndWait(node.child, 'SIGKILL');
  const err = await hanging;
  t.type(err, ConnectionError);
  t.equal((err as ConnectionError).sent, true, `killed mid-request: ${(err as Error).message}`);
});

t.test('a closed client refuses without sending; a ConnectionError that does not know counts as sent', async (t) => {
  const rpc = new RpcClient();
  rpc.destroy();
  const err = await errorOf(rpc.call('127.0.0.1:1', Methods.Ping, {}));
  t.type(err, ConnectionError);
  t.equal((err as ConnectionError).sent, false);
  t.equal(new ConnectionError('unknown').sent, true, 'the default is the safe one');
  t.equal(ConnectionError.notSent('x').code, 'RPC_CONNECTION');
});
