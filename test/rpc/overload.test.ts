/**
 * The node-wide limits of the RPC server: past maxInFlightTotal requests or maxInFlightBytes of payload in
 * flight on all connections together, a request is answered OVERLOADED at once, with a retry hint; the
 * control plane (Ping, Gossip, Raft) is never shed; the budget is given back as requests finish.
 */
import t from 'tap';
import type { Test } from 'tap';
import { RpcClient } from '../../rpc/client.js';
import { OverloadedError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { waitFor } from '../support/wait.js';

async function blockingServer(t: Test, opts: ConstructorParameters<typeof RpcServer>[0]) {
  const server = new RpcServer(opts);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  server.handle(Methods.Get, async () => {
    await gate;
    return { value: Buffer.from('v') };
  });
  server.handle(Methods.Ping, () => ({ nodeId: 'n' }));
  server.handle(Methods.Gossip, () => ({}));
  const { port } = await server.listen(0, '127.0.0.1');
  const clients = [new RpcClient(), new RpcClient()];
  t.teardown(async () => {
    release();
    for (const c of clients) c.destroy();
    await server.stop();
  });
  return { server, addr: `127.0.0.1:${port}`, clients, release: () => release() };
}

t.test('past the request limit, requests from every connection are answered OVERLOADED at once', async (t) => {
  const s = await blockingServer(t, { maxInFlightTotal: 10 });
  const outcomes: Promise<string>[] = [];
  for (let i = 0; i < 30; i++) {
    const c = s.clients[i % 2]!;
    outcomes.push(c.call(s.addr, Methods.Get, { key: Buffer.from(`k${i}`) }, { timeoutMs: 20_000 }).then(() => 'ok', (e: unknown) => (e instanceof OverloadedError ? `overloaded:${e.retryAfterMs}` : String(e))));
  }
  await waitFor(() => s.server.stats().shed === 20, 20_000, '20 requests shed');
  t.equal(s.server.stats().inFlight, 10, 'ten in flight, from two connections');
  t.equal((await s.clients[0]!.call(s.addr, Methods.Ping, {}, { timeoutMs: 5000 })).nodeId, 'n', 'Ping still answers');
  await s.clients[1]!.call(s.addr, Methods.Gossip, {}, { timeoutMs: 5000 });
  t.pass('Gossip is not shed');
  s.release();
  const results = await Promise.all(outcomes);
  t.equal(results.filter((r) => r === 'ok').length, 10);
  t.equal(results.filter((r) => r === 'overloaded:50').length, 20, 'the others OVERLOADED with a retry hint');
  t.same({ inFlight: s.server.inFlightTotal, bytes: s.server.inFlightBytes }, { inFlight: 0, bytes: 0 }, 'the budget is given back');
  t.equal(await s.clients[0]!.call(s.addr, Methods.Get, { key: Buffer.from('again') }).then(() => 'ok'), 'ok', 'and new requests are served');
});

t.test('past the byte budget, OVERLOADED until the requests holding it finish', async (t) => {
  const s = await blockingServer(t, { maxInFlightBytes: 10_000 });
  const big = Buffer.alloc(6000, 1);
  const first = s.clients[0]!.call(s.addr, Methods.Get, { key: big }, { timeoutMs: 20_000 });
  await waitFor(() => s.server.inFlightBytes > 6000, 20_000, 'the first request in flight');
  await t.rejects(s.clients[1]!.call(s.addr, Methods.Get, { key: big }, { timeoutMs: 5000 }), { constructor: OverloadedError, message: /bytes of requests in flight/ });
  const small = s.clients[1]!.call(s.addr, Methods.Get, { key: Buffer.from('small') }, { timeoutMs: 20_000 });
  await waitFor(() => s.server.inFlightTotal === 2, 20_000, 'a small request to fit in what is left');
  s.release();
  await Promise.all([first, small]);
  t.same({ inFlight: s.server.inFlightTotal, bytes: s.server.inFlightBytes }, { inFlight: 0, bytes: 0 });
  t.equal(await s.clients[1]!.call(s.addr, Methods.Get, { key: big }, { timeoutMs: 5000 }).then(() => 'ok'), 'ok', 'then big ones are served again');
});
