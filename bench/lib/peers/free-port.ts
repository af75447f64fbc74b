/**
 * Free loopback ports for the peers the cluster bench starts (etcd, Redis): their servers take a port on
 * the command line, not port 0. Each port is found by listening on port 0 and closing; all the listeners
 * of one call are open at once, so one call never returns the same port twice. Another process may still
 * take a port before the peer binds it: the peer then fails to start, and says so in its log.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error(`no TCP port from a listener on ${host}`);
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}
