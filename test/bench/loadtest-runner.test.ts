/**
 * The load test's runner and scenario (bench/lib/loadtest-runner.ts, loadtest-scenario.ts) against a
 * small in-process stand-in for a node's HTTP API, so that a server that loses writes, fails requests or
 * hangs can be staged: the checks must catch each, and the run must end on time anyway.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { runLoadtest } from '../../bench/lib/loadtest-runner.js';
import type { LoadtestRunOptions } from '../../bench/lib/loadtest-runner.js';
import type { LoadtestSummary } from '../../bench/lib/loadtest-metrics.js';
import { allPass, evaluateThresholds } from '../../bench/lib/loadtest-thresholds.js';

interface Faults {
  /** PUT /kv answers 200 but keeps nothing: an acknowledged write lost. */
  lostPut?: boolean;
  /** PUT /kv answers 503 CLUSTER_UNAVAILABLE. */
  failPut?: boolean;
  /** DELETE /kv never answers. */
  hangDelete?: boolean;
  /** Each answer waits this long (so users' requests overlap). */
  delayMs?: number;
}

/** The /set, /get and /kv/{key} routes of http/HTTP.md over a Map; returns its URL and in-flight high mark. */
async function fakeNode(t: Test, faults: Faults = {}): Promise<{ url: string; maxInFlight: () => number }> {
  const values = new Map<string, string>();
  let inFlight = 0;
  let maxInFlight = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => setTimeout(() => answer(req, res, Buffer.concat(chunks).toString()), faults.delayMs ?? 0));
  });
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = url.searchParams.get('key') ?? decodeURIComponent(url.pathname.slice('/kv/'.length));
    if (url.pathname === '/set') {
      values.set(key, url.searchParams.get('value') ?? '');
      return json(res, 200, { Key: key, Value: values.get(key), Members: [], Error: null });
    }
    if (url.pathname === '/get') {
      const v = values.get(key);
      return v === undefined ? json(res, 404, { Key: key, Value: '', error: { code: 'HTTP_KEY_NOT_FOUND' } }) : json(res, 200, { Key: key, Value: v });
    }
    if (req.method === 'PUT') {
      if (faults.failPut === true) return json(res, 503, { error: { code: 'CLUSTER_UNAVAILABLE', message: '1 of 2' } });
      if (faults.lostPut !== true) values.set(key, body);
      return json(res, 200, { ok: true });
    }
    if (req.method === 'DELETE') {
      if (faults.hangDelete === true) return; // never answers
      values.delete(key);
      return json(res, 200, { ok: true });
    }
    const v = values.get(key);
    if (v === undefined) return json(res, 404, { error: { code: 'HTTP_KEY_NOT_FOUND' } });
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(v);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxInFlight: () => maxInFlight };
}

const base = (url: string): LoadtestRunOptions => ({
  urls: [url],
  stages: [
    { durationMs: 300, target: 3 },
    { durationMs: 500, target: 3 },
    { durationMs: 200, target: 0 },
  ],
  timeoutMs: 5000,
  gracefulStopMs: 5000,
  runId: 'test',
  valueSize: 16,
  keysPerVu: 3,
  deleteEvery: 2,
  consistency: 'QUORUM',
});

const failedChecks = (s: LoadtestSummary) => Object.fromEntries(s.checks.filter((c) => c.fails > 0).map((c) => [c.name, c.fails]));
const limits = { maxErrorRate: 0, p95Ms: 10_000, p99Ms: 10_000 };

t.test('a correct node: every check passes, every route is exercised, the thresholds hold', async (t) => {
  const node = await fakeNode(t, { delayMs: 2 });
  const s = await runLoadtest({ ...base(node.url), deleteEvery: 1 });
  t.same(failedChecks(s), {});
  t.same(
    s.checks.map((c) => c.name),
    ['/set status is 200', '/set answer echoes the key and value', '/get status is 200', '/get value read back equals value written', 'GET /kv status is 200', 'GET /kv value read back equals value written', 'PUT /kv status is 200', 'DELETE /kv status is 200', 'GET /kv of a deleted key is 404', '/get of a deleted key is 404'],
  );
  t.same(s.routes.map((r) => r.route).sort(), ['DELETE /kv', 'GET /get', 'GET /kv', 'GET /set', 'PUT /kv']);
  t.equal(s.failedRequests, 0);
  t.ok(s.iterations >= 1, `${s.iterations} iterations`);
  t.equal(s.vusMax, 3);
  t.ok(node.maxInFlight() >= 2 && node.maxInFlight() <= 3, `at most one request per user in flight (${node.maxInFlight()})`);
  t.ok(s.durationMs >= 1000 && s.durationMs < 4000, `ran the schedule's second (${s.durationMs} ms)`);
  t.equal(allPass(evaluateThresholds(s, limits)), true);
});

t.test('a node that loses acknowledged writes: the read-your-write check fails, and so does the run', async (t) => {
  const node = await fakeNode(t, { lostPut: true });
  const s = await runLoadtest(base(node.url));
  t.same(Object.keys(failedChecks(s)), ['/get value read back equals value written'], 'the read after PUT /kv sees the older value');
  t.equal(failedChecks(s)['/get value read back equals value written'], s.iterations + s.interruptedIterations, 'once per iteration');
  t.equal(s.failedRequests, 0, 'every status was right: only checking the values catches this');
  t.same(evaluateThresholds(s, limits).filter((r) => !r.pass).map((r) => r.metric), ['checks']);
});

t.test('a node that refuses writes: failed requests are counted by reason, and the iteration stops', async (t) => {
  const node = await fakeNode(t, { failPut: true });
  const s = await runLoadtest(base(node.url));
  t.same(Object.keys(failedChecks(s)), ['PUT /kv status is 200']);
  t.same(Object.keys(s.failures), ['PUT /kv 503 CLUSTER_UNAVAILABLE']);
  t.equal(s.failedRequests, s.routes.find((r) => r.route === 'PUT /kv')!.requests, 'every PUT failed');
  t.notOk(s.routes.some((r) => r.route === 'DELETE /kv'), 'no delete after a failed write');
  t.equal(allPass(evaluateThresholds(s, limits)), false);
});

t.test('a node that never answers: the run still ends within the graceful stop, its iterations interrupted', async (t) => {
  const node = await fakeNode(t, { hangDelete: true });
  const t0 = Date.now();
  const s = await runLoadtest({ ...base(node.url), deleteEvery: 1, gracefulStopMs: 300, timeoutMs: 60_000 });
  t.ok(Date.now() - t0 < 5000, `ended in ${Date.now() - t0} ms`);
  t.equal(s.interruptedIterations, 3, 'each user was stuck in a delete');
  t.same(s.failures, { 'DELETE /kv interrupted by the end of the run': 3 });
  t.equal(allPass(evaluateThresholds(s, limits)), false);
});

t.test('a request timeout is a failed request, not a hang', async (t) => {
  const node = await fakeNode(t, { hangDelete: true });
  const s = await runLoadtest({ ...base(node.url), stages: [{ durationMs: 300, target: 1 }], deleteEvery: 1, timeoutMs: 200 });
  t.ok((s.failures['DELETE /kv LOADTEST_TIMEOUT'] ?? 0) >= 1, JSON.stringify(s.failures));
  t.equal(s.interruptedIterations, 0);
});
