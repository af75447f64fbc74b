import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Gauge, Registry } from 'prom-client';
import t, { type Test } from 'tap';
import type { HttpGateway, KvOptions, KvService, Readiness } from '../../http/index.js';
import { HTTP_ERROR_CODES, startHttpGateway } from '../../http/index.js';
import { TimeoutError, UnavailableError } from '../../rpc/errors.js';
import { Rng } from '../support/rng.js';

/** An in-memory KvService that records what it was asked and can be told to fail or stall. */
class MemoryKv implements KvService {
  readonly data = new Map<string, Buffer>();
  readonly seen: KvOptions[] = [];
  failWith: Error | undefined;
  stall = false;
  aborted = 0;
  private async before(opts: KvOptions): Promise<void> {
    this.seen.push(opts);
    if (this.stall) {
      await new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve()));
      this.aborted++;
    }
    if (this.failWith !== undefined) throw this.failWith;
  }
  async get(key: Buffer, opts: KvOptions): Promise<Buffer | undefined> {
    await this.before(opts);
    return this.data.get(key.toString('hex'));
  }
  async put(key: Buffer, value: Buffer, opts: KvOptions): Promise<{ members: string[] }> {
    await this.before(opts);
    this.data.set(key.toString('hex'), value);
    return { members: ['n1', 'n2'] };
  }
  async del(key: Buffer, opts: KvOptions): Promise<void> {
    await this.before(opts);
    this.data.delete(key.toString('hex'));
  }
}

interface Setup {
  gw: HttpGateway;
  kv: MemoryKv;
  url: string;
  readiness: Readiness;
  metrics: Registry;
}

async function setup(t: Test, extra: { maxValueBytes?: number; requestTimeoutMs?: number } = {}): Promise<Setup> {
  const kv = new MemoryKv();
  const readiness: Readiness = { ready: false, why: 'no Raft leader known' };
  const metrics = new Registry();
  const gw = await startHttpGateway({ port: 0, host: '127.0.0.1', kv, readiness: () => readiness, metrics, ...extra });
  t.teardown(() => gw.close());
  return { gw, kv, url: `http://127.0.0.1:${gw.port}`, readiness, metrics };
}

/** One request on a fresh connection; resolves with whatever came back (never rejects on status). */
function request(url: string, method: string, path: string, body?: Buffer | string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));

t.test('PUT, GET, HEAD and DELETE /kv/{key} with raw bytes; missing is 404, empty is a value', async (t) => {
  const { url, kv } = await setup(t);
  let r = await request(url, 'PUT', '/kv/%FFa%2Fb?consistency=all', Buffer.from([0, 1, 2, 255]));
  t.equal(r.status, 200);
  t.same(json(r.body), { ok: true });
  t.ok(kv.data.has(Buffer.from([0xff, 0x61, 0x2f, 0x62]).toString('hex')), 'the key is the percent-decoded bytes');
  t.equal(kv.seen.at(-1)?.consistency, 'ALL');
  r = await request(url, 'GET', '/kv/%FFa%2Fb?consistency=2');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/octet-stream');
  t.same(r.body, Buffer.from([0, 1, 2, 255]));
  t.equal(kv.seen.at(-1)?.consistency, 2);
  r = await request(url, 'HEAD', '/kv/%FFa%2Fb');
  t.equal(r.status, 200);
  t.equal(r.headers['content-length'], '4');
  t.equal(r.body.length, 0);
  await request(url, 'PUT', '/kv/empty', '');
  r = await request(url, 'GET', '/kv/empty');
  t.equal(r.status, 200, 'an empty value is a value');
  t.equal(r.body.length, 0);
  r = await request(url, 'DELETE', '/kv/empty?consistency=ONE');
  t.equal(r.status, 200);
  r = await request(url, 'GET', '/kv/empty');
  t.equal(r.status, 404);
  t.match(json(r.body), { error: { code: 'HTTP_KEY_NOT_FOUND' } });
});

t.test('the original project\'s /set and /get answer its JSON shapes', async (t) => {
  const { url } = await setup(t);
  let r = await request(url, 'GET', '/set?key=name&value=raft%20kv');
  t.equal(r.status, 200);
  t.same(json(r.body), { Key: 'name', Value: 'raft kv', Members: ['n1', 'n2'], Error: null });
  r = await request(url, 'GET', '/get?key=name');
  t.same(json(r.body), { Key: 'name', Value: 'raft kv', Failed_members: [], Error: '' });
  r = await request(url, 'GET', '/get?key=nothing');
  t.equal(r.status, 404);
  t.match(json(r.body), { Key: 'nothing', Value: '', Error: /no value/, error: { code: 'HTTP_KEY_NOT_FOUND' } });
  await request(url, 'GET', '/set?key=e&value=');
  r = await request(url, 'GET', '/get?key=e');
  t.equal(r.status, 200, 'an empty value is a value here too');
  t.match(json(r.body), { Value: '' });
  r = await request(url, 'GET', '/set?key=k');
  t.equal(r.status, 400);
  t.match(json(r.body), { error: { code: 'HTTP_BAD_REQUEST', message: /value/ } });
  r = await request(url, 'DELETE', '/get?key=k');
  t.equal(r.status, 405);
  t.equal(r.headers.allow, 'GET, POST');
});

t.test('errors get proper statuses and a JSON {error: {code, message}}', async (t) => {
  const { url, kv } = await setup(t);
  const cases: Array<[Error, number, string]> = [
    [new UnavailableError('1 of 2 acks', { acks: 1, required: 2 }), 503, 'RPC_UNAVAILABLE'],
    [new TimeoutError('deadline'), 504, 'RPC_TIMEOUT'],
    [Object.assign(new Error('R is 5 but only N=3'), { code: 'CLUSTER_BAD_CONSISTENCY' }), 400, 'CLUSTER_BAD_CONSISTENCY'],
    [new Error('boom'), 500, 'HTTP_INTERNAL'],
  ];
  for (const [err, status, code] of cases) {
    kv.failWith = err;
    const r = await request(url, 'GET', '/kv/k');
    t.equal(r.status, status, code);
    t.match(json(r.body), { error: { code, message: err.message } });
    const legacy = await request(url, 'GET', '/set?key=k&value=v');
    t.equal(legacy.status, status, `${code} on /set`);
    t.match(json(legacy.body), { Key: 'k', Error: err.message, error: { code } });
  }
  kv.failWith = undefined;
  const bad: Array<[string, string, number, string]> = [
    ['GET', '/kv/k?consistency=MOST', 400, 'HTTP_BAD_REQUEST'],
    ['GET', '/kv/k?consistency=0', 400, 'HTTP_BAD_REQUEST'],
    ['GET', '/kv/k?consistency=ONE&consistency=ALL', 400, 'HTTP_BAD_REQUEST'],
    ['GET', '/kv/', 400, 'HTTP_BAD_REQUEST'],
    ['GET', '/kv/%zz', 400, 'HTTP_BAD_REQUEST'],
    ['GET', '/get', 400, 'HTTP_BAD_REQUEST'],
    ['POST', '/kv/k', 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['PUT', '/health', 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ['GET', '/nothing/here', 404, 'HTTP_NO_ROUTE'],
  ];
  for (const [method, path, status, code] of bad) {
    const r = await request(url, method, path);
    t.equal(r.status, status, `${method} ${path}`);
    t.match(json(r.body), { error: { code } }, `${method} ${path}: ${code}`);
  }
  t.equal((await request(url, 'POST', '/kv/k')).headers.allow, 'GET, HEAD, PUT, DELETE');
});

t.test('a value over the limit is refused with 413 and nothing is written', async (t) => {
  const { url, kv } = await setup(t, { maxValueBytes: 1024 });
  t.equal((await request(url, 'PUT', '/kv/ok', Buffer.alloc(1024, 1))).status, 200, 'exactly the limit is fine');
  const r = await request(url, 'PUT', '/kv/big', Buffer.alloc(1025, 1)).catch((e: Error) => ({ status: -1, body: Buffer.from(`{"error":{"code":"${e.message}"}}`) }));
  t.equal(r.status, 413);
  t.match(json(r.body), { error: { code: 'HTTP_PAYLOAD_TOO_LARGE' } });
  t.notOk(kv.data.has(Buffer.from('big').toString('hex')));
});

t.test('a request the KV service does not finish in time gets 504 and its signal is aborted', async (t) => {
  const { url, kv } = await setup(t, { requestTimeoutMs: 200 });
  kv.stall = true;
  const start = Date.now();
  const r = await request(url, 'GET', '/kv/slow');
  t.equal(r.status, 504);
  t.match(json(r.body), { error: { code: 'HTTP_TIMEOUT' } });
  t.ok(Date.now() - start < 3000);
  t.equal(kv.aborted, 1, 'the KV call was told to give up');
});

t.test('/health, /ready and /metrics', async (t) => {
  const { url, readiness, metrics } = await setup(t);
  new Gauge({ name: 'mydatastore_hints_pending', help: 'Hints waiting for their owner.', registers: [metrics] }).set(4);
  let r = await request(url, 'GET', '/health');
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'healthy\n');
  r = await request(url, 'GET', '/ready');
  t.equal(r.status, 503);
  t.equal(r.body.toString(), 'not ready: no Raft leader known\n');
  readiness.ready = true;
  t.equal((await request(url, 'GET', '/ready')).status, 200);
  await request(url, 'PUT', '/kv/a', 'x');
  await request(url, 'GET', '/kv/a');
  await request(url, 'GET', '/kv/missing');
  await request(url, 'GET', '/get?key=a');
  r = await request(url, 'GET', '/metrics');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const text = r.body.toString();
  t.match(text, /^# TYPE mydatastore_http_requests_total counter$/m);
  t.match(text, /^mydatastore_http_requests_total\{op="put",status="200"\} 1$/m);
  t.match(text, /^mydatastore_http_requests_total\{op="get",status="200"\} 2$/m);
  t.match(text, /^mydatastore_http_requests_total\{op="get",status="404"\} 1$/m);
  t.match(text, /^mydatastore_http_request_duration_seconds_count\{op="get"\} 3$/m);
  t.match(text, /^mydatastore_hints_pending 4$/m);
});

t.test('a few hundred malformed requests never crash the gateway nor make it answer 500', async (t) => {
  const { url, gw } = await setup(t, { maxValueBytes: 64 });
  const rng = new Rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const pieces = ['/kv/', '/kv', '/set', '/get', '/health', '/metrics', '/ready', '%', '%0', '%ZZ', '%FF', '?', '&', '=', 'key', 'value', 'consistency', 'ONE', '-1', '0', '99999999999', '..', '//', 'é', '\u0000', '+', '#', ' ', ';'];
  const methods = ['GET', 'PUT', 'DELETE', 'POST', 'HEAD', 'PATCH', 'OPTIONS'];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    let path = pick(['/kv/', '/set?', '/get?', '/', '/kv/x?']);
    for (let n = rng.int(8); n > 0; n--) path += pick(pieces);
    const body = rng.chance(0.3) ? Buffer.alloc(rng.int(200), 0x41) : undefined;
    const method = pick(methods);
    const res = await request(url, method, encodeURI(path).replace(/%25/g, rng.chance(0.5) ? '%' : '%25'), body).catch((e: Error) => ({ status: -1, headers: {}, body: Buffer.from(e.message) }));
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === -1) t.comment(method, path, body?.length, res.body.toString());
    t.not(res.status, 500, `no 500 for ${path}`);
  }
  // Not HTTP at all, and HTTP with broken framing.
  const garbage = ['\x00\x01\x02\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /kv/a HTTP/1.1\r\nContent-Length: -5\r\n\r\n', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'GET /kv/a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'];
  for (const g of garbage) {
    const answer = await new Promise<string>((resolve) => {
      const sock = net.connect(gw.port, '127.0.0.1', () => sock.end(g));
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
      sock.on('close', () => resolve(got));
      sock.on('error', () => resolve(got));
    });
    t.match(answer, /^(HTTP\/1\.1 4\d\d|)/, `raw ${JSON.stringify(g)} answered ${answer.slice(0, 24)}`);
  }
  t.equal((await request(url, 'GET', '/health')).status, 200, 'still healthy afterwards');
  t.comment(`statuses: ${JSON.stringify([...statuses])}`);
});

t.test('every gateway error code is documented in http/HTTP.md', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../http/HTTP.md', import.meta.url)), 'utf8');
  for (const code of HTTP_ERROR_CODES) t.ok(doc.includes(`| \`${code}\` |`), `${code} is documented`);
  t.end();
});
