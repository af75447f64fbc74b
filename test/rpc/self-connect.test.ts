/**
 * A client socket that connected to itself (a dial to a dead port of this host that the kernel also picked
 * as the local port) is reset: the port must be free at once for the node that should listen there.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { resetIfSelfConnected } from '../../rpc/self-connect.js';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => s.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}
const close = (srv: net.Server) => new Promise((r) => srv.close(r));

/** The kernel's TCP sockets on 127.0.0.1:`port`, with their state (Linux's /proc/net/tcp; 06 is TIME_WAIT). */
function kernelSockets(port: number): string[] {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === local)
    .map((f) => `state ${f[3]}`);
}

function connect(opts: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(opts);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

t.test('a socket connected to itself is reset, and its port can be listened on right away', async (t) => {
  const probe = await listen(0);
  const port = (probe.address() as net.AddressInfo).port;
  await close(probe);
  // Binding the local port to the destination makes the self-connect happen on the first try.
  const self = await connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort: port });
  t.equal(self.localPort, self.remotePort, 'connected to itself');
  t.ok(resetIfSelfConnected(self), 'recognised');
  t.ok(self.destroyed, 'and destroyed');
  await once(self, 'close');
  // A graceful close would leave the socket in TIME_WAIT for a minute, and had the kernel picked this
  // port itself (as for any dial), listen() on it would fail with EADDRINUSE all that time.
  t.same(kernelSockets(port), [], 'reset: nothing of it is left in the kernel (no TIME_WAIT)');
  const srv = await listen(port);
  t.pass(`the port ${port} can be listened on`);
  await close(srv);
});

t.test('an ordinary connection is left alone', async (t) => {
  const srv = await listen(0);
  const port = (srv.address() as net.AddressInfo).port;
  const s = await connect({ host: '127.0.0.1', port });
  t.notOk(resetIfSelfConnected(s), 'not connected to itself');
  t.notOk(s.destroyed, 'still open');
  s.destroy();
  await close(srv);
});
