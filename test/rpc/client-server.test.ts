import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { RpcClient } from '../../rpc/client.js';
import {
  CancelledError,
  ConnectionError,
  InternalError,
  InvalidArgumentError,
  OverloadedError,
  ShuttingDownError,
  TimeoutError,
  UnknownMethodError,
  WrongOwnerError,
} from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import { RpcServer } from '../../rpc/server.js';
import { echoPair, waitFor } from './helpers.js';

t.test('10,000 pipelined requests on one connection, answered out of order, all match', async (t) => {
  // Both sides allow all 10,000 in flight at once: real pipelining, no queueing.
  const server = new RpcServer({ maxInFlightPerConnection: 10_000 });
  // Replies after a pseudo-random delay, so responses overtake each other.
  server.handle(Methods.Ping, async (req) => {
    const n = Buffer.from(req.payload).readUInt32BE(0);
    if (n % 3 !== 0) await sleep((n * 7919) % 5);
    return { payload: req.payload };
  });
  const { port } = await server.listen(0);
  const client = new RpcClient({ maxInFlightPerConnection: 10_000 });
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const addr = `127.0.0.1:${port}`;
  const order: number[] = [];
  const calls = [];
  for (let i = 0; i < 10_000; i++) {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(i);
    calls.push(
      client.call(addr, Methods.Ping, { payload }).then((res) => {
        const n = Buffer.from(res.payload).readUInt32BE(0);
        order.push(n);
        return n === i;
      }),
    );
  }
  const matched = await Promise.all(calls);
  t.equal(matched.filter(Boolean).length, 10_000, 'every response carries its own request payload');
  t.ok(order.some((n, i) => i > 0 && n < order[i - 1]!), 'responses arrived out of order');
  t.equal(server.stats().connections, 1, 'all on one connection');
});

t.test('handler errors reach the client as the same typed error', async (t) => {
  const server = new RpcServer();
  server.handle(Methods.Get, (req) => {
    const key = Buffer.from(req.key).toString();
    if (key === 'bad') throw new InvalidArgumentError('key must not be "bad"');
    if (key === 'moved') throw new WrongOwnerError('partition moved', { epoch: 42n });
    if (key === 'bug') throw new Error('boom');
    return { status: 0, value: Buffer.from('v') };
  });
  const { port } = await server.listen(0);
  const client = new RpcClient();
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const addr = `127.0.0.1:${port}`;
  await t.rejects(client.call(addr, Methods.Get, { key: Buffer.from('bad') }), InvalidArgumentError);
  const moved = await client.call(addr, Methods.Get, { key: Buffer.from('moved') }).catch((e: unknown) => e);
  t.ok(moved instanceof WrongOwnerError);
  t.equal((moved as WrongOwnerError).epoch, 42n, 'error details travel: the replica epoch');
  await t.rejects(client.call(addr, Methods.Get, { key: Buffer.from('bug') }), InternalError);
  await t.rejects(client.call(addr, Methods.Put, { key: Buffer.from('k') }), UnknownMethodError);
  const ok = await client.call(addr, Methods.Get, { key: Buffer.from('fine') });
  t.equal(Buffer.from(ok.value).toString(), 'v', 'the connection still serves after errors');
});

t.test('a deadline expires on the client with TimeoutError and aborts the handler', async (t) => {
  const server = new RpcServer();
  let aborted = false;
  let seenDeadline = Infinity;
  server.handle(Methods.Ping, async (req, ctx) => {
    seenDeadline = ctx.deadline - performance.now();
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    aborted = true;
    return { payload: req.payload };
  });
  const { port } = await server.listen(0);
  const client = new RpcClient();
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const started = Date.now();
  await t.rejects(client.call(`127.0.0.1:${port}`, Methods.Ping, {}, { timeoutMs: 200 }), TimeoutError);
  t.ok(Date.now() - started < 5000, 'the caller is not kept waiting');
  t.ok(seenDeadline > 0 && seenDeadline <= 200, `the server knows the deadline (${seenDeadline.toFixed(0)} ms left)`);
  await waitFor(() => aborted, 10_000, 'the handler to see its signal abort');
  t.ok(aborted, 'the server dropped the expired work');
});

t.test('an aborted call rejects with CancelledError', async (t) => {
  const server = new RpcServer();
  server.handle(Methods.Ping, async () => {
    await sleep(100);
    return {};
  });
  const { port } = await server.listen(0);
  const client = new RpcClient();
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const ac = new AbortController();
  const p = client.call(`127.0.0.1:${port}`, Methods.Ping, {}, { signal: ac.signal });
  ac.abort();
  await t.rejects(p, CancelledError);
});

t.test('the server caps requests in flight per connection; the rest wait in the socket', async (t) => {
  const server = new RpcServer({ maxInFlightPerConnection: 4 });
  let running = 0;
  let peak = 0;
  server.handle(Methods.Ping, async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(2);
    running--;
    return {};
  });
  const { port } = await server.listen(0);
  const client = new RpcClient();
  t.teardown(async () => {
    client.destroy();
    await server.stop();
  });
  const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.call(`127.0.0.1:${port}`, Methods.Ping, {})));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 200, 'every request is served');
  t.equal(peak, 4, 'never more than the cap ran at once');
});

t.test('a full client queue fails fast with OverloadedError instead of growing', async (t) => {
  const p = await echoPair({}, { maxInFlightPerConnection: 2, maxQueuedPerConnection: 3 });
  t.teardown(() => p.stop());
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => p.client.call(p.addr, Methods.Ping, {})));
  const rejected = results.filter((r) => r.status === 'rejected');
  t.equal(results.length - rejected.length, 5, '2 in flight + 3 queued are served');
  t.ok(rejected.every((r) => r.status === 'rejected' && r.reason instanceof OverloadedError), 'the rest are OVERLOADED');
});

t.test('graceful server stop finishes in-flight requests and refuses new ones', async (t) => {
  const server = new RpcServer();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  server.handle(Methods.Ping, async (req) => {
    await gate;
    return { payload: req.payload };
  });
  const { port } = await server.listen(0);
  const client = new RpcClient();
  t.teardown(() => client.destroy());
  const addr = `127.0.0.1:${port}`;
  const inFlight = client.call(addr, Methods.Ping, { payload: Buffer.from('x') });
  await waitFor(() => server.stats().inFlight === 1, 10_000, 'the request to arrive');
  const stopped = server.stop();
  await sleep(20);
  release();
  const res = await inFlight;
  t.equal(Buffer.from(res.payload).toString(), 'x', 'the in-flight request completed during shutdown');
  await stopped;
  const after = await client.call(addr, Methods.Ping, {}).catch((e: unknown) => e);
  t.ok(after instanceof ConnectionError || after instanceof ShuttingDownError, `new calls are refused (${String(after)})`);
});

t.test('client close() waits for in-flight calls, then refuses new ones', async (t) => {
  const server = new RpcServer();
  server.handle(Methods.Ping, async (req) => {
    await sleep(50);
    return { payload: req.payload };
  });
  const { port } = await server.listen(0);
  t.teardown(() => server.stop());
  const client = new RpcClient();
  const addr = `127.0.0.1:${port}`;
  const calls = Array.from({ length: 20 }, () => client.call(addr, Methods.Ping, {}));
  await client.close();
  const settled = await Promise.allSettled(calls);
  t.equal(settled.filter((s) => s.status === 'fulfilled').length, 20, 'all in-flight calls completed');
  await t.rejects(client.call(addr, Methods.Ping, {}), ConnectionError);
  await waitFor(() => server.stats().connections === 0, 10_000, 'the connection to close');
});

t.test('idle connections are closed by the server and the client reconnects transparently', async (t) => {
  const p = await echoPair({ idleTimeoutMs: 100 });
  t.teardown(() => p.stop());
  await p.client.call(p.addr, Methods.Ping, {});
  t.equal(p.server.stats().connections, 1);
  await waitFor(() => p.server.stats().connections === 0, 10_000, 'the idle connection to close');
  const res = await p.client.call(p.addr, Methods.Ping, { payload: Buffer.from('again') });
  t.equal(Buffer.from(res.payload).toString(), 'again');
});

t.test('a malformed address is a clear error, not a hang', async (t) => {
  const client = new RpcClient();
  t.teardown(() => client.destroy());
  await t.rejects(client.call('no-port', Methods.Ping, {}), { message: /invalid address "no-port"/ });
});

t.test('a refused connection fails fast, then backs off with a clear message', async (t) => {
  // Find a port with nothing listening: listen, note it, stop.
  const probe = new RpcServer();
  const { port } = await probe.listen(0);
  await probe.stop();
  const client = new RpcClient({ backoffBaseMs: 10_000, random: () => 0.5 });
  t.teardown(() => client.destroy());
  const addr = `127.0.0.1:${port}`;
  await t.rejects(client.call(addr, Methods.Ping, {}), ConnectionError);
  const second = (await client.call(addr, Methods.Ping, {}).catch((e: unknown) => e)) as Error;
  t.ok(second instanceof ConnectionError);
  t.match(second.message, /unreachable .* next attempt in \d+ ms/, 'the second call does not even try');
});
