/**
 * The status page in a real headless browser (Debian's Chromium through playwright-core) against a real
 * local 3-node cluster: opened at / of one node, it comes to show the three members alive and active, the
 * same Raft leader the node reports, a cell per partition of the ring and per partition this node
 * replicates, and a request rate above zero while a client writes — with no console error, page error or
 * failed request on the way. A full-page screenshot is saved (its path is printed) for a human to look at.
 * No Chromium is a failure saying how to install it (test/support/chromium.ts), not a skip.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { StatusReport } from '../../tools/node-status.js';
import { RealCluster } from '../cluster/real-cluster.js';
import { chromiumPath, launchChromium } from '../support/chromium.js';
import { waitFor } from '../support/wait.js';

/** Where the screenshot goes: STATUS_PAGE_SCREENSHOT, else the system temp directory. */
const SHOT = process.env.STATUS_PAGE_SCREENSHOT ?? join(tmpdir(), 'mydatastore-status-page.png');

async function statusOf(http: string): Promise<StatusReport> {
  const res = await fetch(`${http}/status.json`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${http}/status.json: HTTP ${res.status}`);
  return (await res.json()) as StatusReport;
}

/** PUTs keys through `http` one after the other until stop() (which waits for the one in flight). */
function keepWriting(http: string): { stop(): Promise<void>; writes(): number } {
  let stopped = false;
  let done = 0;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const res = await fetch(`${http}/kv/page-${i % 50}`, { method: 'PUT', body: `v${i}`, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.ok) done++;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    writes: () => done,
  };
}

t.test('the status page of a real 3-node cluster shows its members, leader, ring and live request rate, without errors', async (t) => {
  try {
    chromiumPath();
  } catch (err) {
    t.fail((err as Error).message);
    return;
  }
  const cluster = new RealCluster(t, { clusterId: 'status-page' });
  const [n1, n2, n3] = await cluster.startThree();
  const http = n1.http;
  if (http === undefined) throw new Error('n1 logged no HTTP gateway address');

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });

  const writer = keepWriting(http);
  t.teardown(() => writer.stop());
  const response = await page.goto(`${http}/`, { timeout: 30_000 });
  t.equal(response?.status(), 200, 'GET / answers 200');

  const rows = page.locator('#members tbody tr');
  const card = (label: string) => page.locator(`[data-card="${label}"] .value`);
  const shown = async () => ({
    ids: (await Promise.all((await rows.all()).map(async (r) => (await r.getAttribute('data-id')) ?? ''))).sort(),
    gossip: await page.locator('#members tbody td.gossip').allTextContents(),
    status: await page.locator('#members tbody td.status').allTextContents(),
    rate: Number(await card('Requests/s').textContent()),
  });
  let last = await shown();
  await waitFor(
    async () => {
      last = await shown();
      return last.ids.length === 3 && last.gossip.every((g) => g === 'alive') && last.status.every((s) => s === 'active') && last.rate > 0;
    },
    60_000,
    'the page to show 3 alive, active members and a request rate above 0',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last shown: ${JSON.stringify(last)}; problems: ${problems.join(' | ') || 'none'}`);
  });
  t.same(last.ids, [n1.id, n2.id, n3.id].sort(), 'the three members of the cluster');
  t.ok(writer.writes() > 0, 'the client wrote through n1 meanwhile');

  // The page agrees with the document it reads (the node's own view, fetched here too).
  const s = await statusOf(http);
  t.ok(['n1', 'n2', 'n3'].includes(s.raft.leaderId), `a leader is known (${s.raft.leaderId})`);
  await waitFor(async () => (await card('Raft leader').textContent()) === (await statusOf(http)).raft.leaderId, 20_000, 'the page to show the leader n1 reports');
  t.ok(s.ring.partitions > 0);
  t.equal(await page.locator('#ring-grid > div').count(), s.ring.partitions, 'a ring cell per partition');
  t.equal(await page.locator('#ae-grid > div').count(), s.antiEntropy.partitions.length, 'an anti-entropy cell per partition n1 replicates');
  t.ok(s.antiEntropy.partitions.length > 0, 'n1 replicates some partitions');
  t.match(await card('Epoch').textContent(), /^\d+$/, 'the epoch is a number');

  await writer.stop();
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(SHOT, png);
  t.comment(`status page screenshot: ${SHOT}`);
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  t.same(problems, [], 'no console errors, page errors or failed requests');
});
