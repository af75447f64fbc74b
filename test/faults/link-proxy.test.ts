/**
 * LinkProxy, the harness's controllable link: it forwards both ways in order; cut() resets open
 * connections and holds new ones silently (the dialler times out, it is not refused); heal() lets new
 * connections through again; a delay holds every chunk.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import t from 'tap';
import { waitFor } from '../support/wait.js';
import { LinkProxy } from './link-proxy.js';

async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return { server, port: a.port };
}

function dial(port: number): { socket: Socket; received: () => string; closed: () => boolean } {
  const socket = connect({ host: '127.0.0.1', port });
  let got = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (got += d.toString()));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return { socket, received: () => got, closed: () => closed };
}

t.test('forwards in order, cuts, holds, heals and delays', async (t) => {
  const echo = await echoServer();
  t.teardown(() => echo.server.close());
  const proxy = await LinkProxy.start('a', 'b', { host: '127.0.0.1', port: echo.port });
  t.teardown(() => proxy.stop());

  const one = dial(proxy.port);
  one.socket.write('hello ');
  one.socket.write('world');
  await waitFor(() => one.received() === 'hello world', 5000, 'the echo through the proxy');
  t.pass('bytes go through both ways, in order');

  proxy.cut();
  await waitFor(() => one.closed(), 5000, 'the open connection to be reset');
  t.pass('cut resets the open connection');
  const held = dial(proxy.port);
  held.socket.write('anyone?');
  await new Promise((r) => setTimeout(r, 300)); // a window in which nothing may come back
  t.equal(held.received(), '', 'a new connection is held: nothing is forwarded');
  t.notOk(held.closed(), 'and it is not refused either (a black hole, not a reset)');

  proxy.heal();
  await waitFor(() => held.closed(), 5000, 'the held connection to be reset at heal');
  const two = dial(proxy.port);
  proxy.setDelay(200);
  const sent = Date.now();
  two.socket.write('late');
  await waitFor(() => two.received() === 'late', 5000, 'the delayed echo');
  t.ok(Date.now() - sent >= 350, `after heal it forwards again, each way delayed (${Date.now() - sent} ms for the round trip)`);
  two.socket.destroy();
  t.ok(proxy.accepted >= 3, 'connections are counted');
});
