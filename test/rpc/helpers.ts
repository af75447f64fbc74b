import type { AddressInfo } from 'node:net';
import { RpcClient } from '../../rpc/client.js';
import type { ClientOptions } from '../../rpc/client.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import type { ServerOptions } from '../../rpc/server.js';

export interface EchoPair {
  server: RpcServer;
  client: RpcClient;
  addr: string;
  stop(): Promise<void>;
}

/** A server on an ephemeral 127.0.0.1 port answering Ping by echoing, and a client for it. */
export async function echoPair(serverOpts: ServerOptions = {}, clientOpts: ClientOptions = {}): Promise<EchoPair> {
  const server = new RpcServer(serverOpts);
  server.handle(Methods.Ping, (req) => ({ nodeId: 'test', payload: req.payload }));
  const a: AddressInfo = await server.listen(0, '127.0.0.1');
  const client = new RpcClient(clientOpts);
  const addr = `127.0.0.1:${a.port}`;
  return {
    server,
    client,
    addr,
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

export { waitFor } from '../support/wait.js';
