/**
 * The gateway's status routes (http/status-page.ts): `/` answers the page's HTML, `/status.json` what the
 * node's status source returns, fresh on every request; only GET and HEAD; without a status source both
 * are 404; with credentials on they need them like every route but /health and /ready.
 */
import t, { type Test } from 'tap';
import { startHttpGateway } from '../../http/index.js';
import type { KvService } from '../../http/index.js';
import { TokenTable } from '../../rpc/security.js';
import { Registry } from 'prom-client';

const kv: KvService = {
  get: () => Promise.resolve(undefined),
  put: () => Promise.resolve({ members: [] }),
  del: () => Promise.resolve(),
};

async function gateway(t: Test, extra: { status?: () => Promise<object>; tokens?: TokenTable } = {}): Promise<string> {
  const gw = await startHttpGateway({ port: 0, host: '127.0.0.1', kv, readiness: () => ({ ready: true }), metrics: new Registry(), ...extra });
  t.teardown(() => gw.close());
  return `http://127.0.0.1:${gw.port}`;
}

t.test('/ is the HTML page, /status.json the status source\'s document, fresh on each request', async (t) => {
  let calls = 0;
  const url = await gateway(t, { status: () => Promise.resolve({ calls: ++calls }) });
  const page = await fetch(`${url}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html; charset=utf-8/);
  t.match(page.headers.get('content-security-policy'), /connect-src 'self'/);
  const html = await page.text();
  t.match(html, /<title>MyDataStore status<\/title>/);
  t.match(html, /fetch\('status\.json'/, 'the page polls the JSON endpoint beside it');

  const a = await fetch(`${url}/status.json`);
  t.equal(a.status, 200);
  t.match(a.headers.get('content-type'), /^application\/json/);
  t.equal(a.headers.get('cache-control'), 'no-store');
  t.same(await a.json(), { calls: 1 });
  t.same(await (await fetch(`${url}/status.json`)).json(), { calls: 2 });

  const head = await fetch(`${url}/status.json`, { method: 'HEAD' });
  t.equal(head.status, 200);
  const post = await fetch(`${url}/`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal(((await post.json()) as { error: { code: string } }).error.code, 'HTTP_METHOD_NOT_ALLOWED');
});

t.test('without a status source, / and /status.json are 404 HTTP_NO_ROUTE', async (t) => {
  const url = await gateway(t);
  for (const path of ['/', '/status.json']) {
    const res = await fetch(url + path);
    t.equal(res.status, 404, path);
    t.equal(((await res.json()) as { error: { code: string } }).error.code, 'HTTP_NO_ROUTE');
  }
});

t.test('with tokens, the page and its JSON need one (401 without), /health does not', async (t) => {
  const url = await gateway(t, { status: () => Promise.resolve({ ok: true }), tokens: new TokenTable(new Map([['ops', 'secret-token']])) });
  for (const path of ['/', '/status.json']) {
    const res = await fetch(url + path);
    t.equal(res.status, 401, `${path} without a token`);
    t.equal(((await res.json()) as { error: { code: string } }).error.code, 'HTTP_UNAUTHENTICATED');
    const ok = await fetch(url + path, { headers: { authorization: 'Bearer secret-token' } });
    t.equal(ok.status, 200, `${path} with the token`);
    await ok.arrayBuffer();
  }
  t.equal((await fetch(`${url}/health`)).status, 200);
});
