/**
 * Fuzz target: the HTTP routes (http/) of a real node's gateway (fuzz-node.ts). Raw HTTP/1.1 requests
 * over TCP, so nothing is cleaned up by a client library: random and odd methods, paths (`/kv/` with
 * raw bytes, bad and good percent escapes, `/set`, `/get`, the operations endpoints, unknown ones),
 * query strings (consistency and durable values good and bad, repeated), random headers and bodies, and
 * Content-Length that matches or undercounts. Each answer must be an HTTP response whose status is one
 * http/HTTP.md documents for client input (never 500 HTTP_INTERNAL); afterwards the node is still up
 * and reads the sentinel key back.
 */
import net from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { checkProperty, fuzzRuns } from './fuzz-runs.js';
import { startFuzzNode } from './fuzz-node.js';
import { startWatchdog } from './hang-watchdog.js';

const RUNS = fuzzRuns(1);
const CASE_TIMEOUT_MS = 15_000;
/** Statuses HTTP.md documents for what a client sends (413 closes; 400 is also node's own for bad HTTP). */
const ALLOWED = new Set([200, 400, 404, 405, 413, 503, 504]);

const percent = (b: Uint8Array): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const rawChars = fc.string({ unit: fc.constantFrom(...'aZ09-._~!$&\'()*+,;=:@/%?#[]^`{|}"<>\\ \t\u00e9\u4e2d\u0000'.split('')), maxLength: 24 });

const pathArb: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((b) => `/kv/${percent(b)}`),
  rawChars.map((s) => `/kv/${s}`),
  fc.constantFrom('/kv/', '/kv/%', '/kv/%z1', '/kv/%2', '/kv/a%2Fb', '/kv', '/kv//', '/set', '/get', '/health', '/ready', '/metrics', '/', '*', '/kv/%FF%FE'),
  rawChars.map((s) => `/${s}`),
);

const queryArb: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant('consistency'), fc.constantFrom('one', 'QUORUM', 'all', 'default', '', '0', '1', '2', '99', '-1', '1e3', '999999', 'x')),
      fc.tuple(fc.constant('durable'), fc.constantFrom('true', 'FALSE', '1', '0', '', 'yes')),
      fc.tuple(fc.constantFrom('key', 'value'), fc.oneof(rawChars, fc.uint8Array({ maxLength: 12 }).map(percent))),
      fc.tuple(rawChars, rawChars),
    ),
    { maxLength: 5 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

const headerArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('content-type: application/json', 'transfer-encoding: chunked', 'expect: 100-continue', 'connection: keep-alive', 'content-length: abc', 'x-a: \u00ff'),
  fc.tuple(fc.stringMatching(/^[a-z-]{1,12}$/), rawChars).map(([k, v]) => `${k}: ${v}`),
);

interface RequestSpec {
  method: string;
  path: string;
  query: string;
  headers: string[];
  body: Uint8Array;
  /** How Content-Length relates to the body: exact, absent, or less than it (the rest is a second, garbled request). */
  length: 'exact' | 'none' | 'short';
}

const requestArb: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get'), fc.stringMatching(/^[A-Z]{1,8}$/)),
  path: pathArb,
  query: queryArb,
  headers: fc.array(headerArb, { maxLength: 3 }),
  body: fc.uint8Array({ maxLength: 600 }),
  length: fc.constantFrom<RequestSpec['length'][]>('exact', 'none', 'short'),
});

function render(r: RequestSpec): Buffer {
  const target = r.query === '' ? r.path : `${r.path}?${r.query}`;
  // A chunked body is framed as such; otherwise Content-Length as asked (a short one leaves garbage behind).
  const chunked = r.headers.some((h) => h === 'transfer-encoding: chunked');
  const body = chunked ? Buffer.concat([Buffer.from(`${r.body.length.toString(16)}\r\n`), r.body, Buffer.from(r.body.length > 0 ? '\r\n0\r\n\r\n' : '\r\n')]) : Buffer.from(r.body);
  const lines = [`${r.method} ${target} HTTP/1.1`, 'host: fuzz', 'connection: close', ...r.headers];
  if (!chunked && r.length === 'exact') lines.push(`content-length: ${body.length}`);
  if (!chunked && r.length === 'short') lines.push(`content-length: ${Math.floor(body.length / 2)}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

/** Sends one raw request; resolves with every status line the server answered before closing. */
function send(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${CASE_TIMEOUT_MS} ms; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`));
    }, CASE_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after a refusal shows as 'close'
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(request);
    // A request left incomplete (a chunked body cut short) must not wait for the server's timeout.
    socket.end();
  });
}

t.test('fuzzed HTTP requests get documented statuses; the node stays up with its data', async (t) => {
  const node = await startFuzzNode(t);
  const dog = startWatchdog('http-routes');
  t.teardown(() => dog.close());
  const property = fc.asyncProperty(requestArb, dog.guard(async (r: RequestSpec) => {
    const answer = await send(node.httpPort, render(r));
    // 100 Continue is node's interim answer to `expect: 100-continue`, not a final status.
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])).filter((s) => s !== 100);
    for (const s of statuses) {
      if (!ALLOWED.has(s)) throw new Error(`status ${s} for ${r.method} ${r.path}?${r.query}: ${answer.slice(0, 400)}`);
    }
    if (statuses.length === 0 && answer.length > 0) throw new Error(`an answer that is not HTTP: ${answer.slice(0, 200)}`);
    if (!node.alive()) throw new Error('the node exited');
  }));
  await checkProperty('http-routes', property, RUNS);
  await node.intact();
  t.pass(`${RUNS} fuzzed HTTP requests; the node is up and its sentinel key reads back`);
});
