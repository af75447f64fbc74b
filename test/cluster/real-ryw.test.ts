/**
 * Read-your-writes over real processes (issue 7, Tests): 3 nodes, N=3, R=2, W=2, and one writer per key
 * doing 10,000 operations — puts of increasing values to 200 keys, each followed by an R=2 get of the
 * same key — while one node is SIGKILLed a quarter of the way in and restarted halfway through.
 *
 * Per key there is exactly one writer, and it reads only after its put was acknowledged, so "the latest
 * acknowledged value" is well defined: a put that failed is retried with the same value until acked. Every
 * get must return exactly that value; any other answer is a stale read and fails the test (with the
 * replicas' stored versions of the key as evidence). Gets and puts that fail while the node is down are
 * retried and counted. 64 workers run concurrently (each owns its keys), so the run stays within
 * seconds on a busy 2-core box.
 */
import t from 'tap';
import { Client } from '../../client/index.js';
import { RpcError } from '../../rpc/errors.js';
import { killAndWait } from '../support/processes.js';
import { RealCluster, formatVersion, type RunningNode } from './real-cluster.js';

const KEYS = 200;
const WORKERS = 64;
const TOTAL_OPS = 10_000;
const KILL_AT = 2_500; // ops done when the victim is killed
const RESTART_AT = 5_000; // ops done when it is restarted
const HOLD_AT = 8_000; // workers wait here until gossip sees the victim alive again everywhere
const OP_GIVE_UP_MS = 30_000; // one operation retried longer than this fails the test
/** Failures a node being down explains; any other error fails the test. */
const TRANSIENT = new Set(['RPC_UNAVAILABLE', 'RPC_CONNECTION', 'RPC_TIMEOUT', 'RPC_SHUTTING_DOWN']);

interface Counters {
  done: number;
  puts: number;
  gets: number;
  putRetries: number;
  getRetries: number;
  retryCodes: Map<string, number>;
  stale: string[];
}

t.test('read-your-writes: 10,000 ops at R=2/W=2 with a node killed and restarted mid-run', async (t) => {
  const cluster = new RealCluster(t, { clusterId: 'real-ryw' });
  const t0 = Date.now();
  const [n1, n2first, n3] = await cluster.startThree();
  let n2 = n2first;
  t.pass(`3 nodes with a committed ring of 3 after ${Date.now() - t0} ms`);

  const db = new Client({ seeds: [n1.address, n2.address, n3.address], retries: 0, defaultDeadlineMs: 5000, seedDownMs: 500 });
  t.teardown(() => db.close());

  const c: Counters = { done: 0, puts: 0, gets: 0, putRetries: 0, getRetries: 0, retryCodes: new Map(), stale: [] };
  const latest = new Map<string, number>(); // key → latest acknowledged counter
  const key = (i: number): string => `ryw-${i.toString().padStart(3, '0')}`;
  const valueOf = (n: number): string => `v${n}`;

  /** Runs `op` until it succeeds; TRANSIENT errors are retried and counted. */
  const untilDone = async <T>(what: string, op: () => Promise<T>, retried: () => void): Promise<T> => {
    const until = Date.now() + OP_GIVE_UP_MS;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (!(err instanceof RpcError) || !TRANSIENT.has(err.code)) throw err;
        if (Date.now() > until) throw new Error(`${what} still failing after ${OP_GIVE_UP_MS} ms`, { cause: err });
        retried();
        c.retryCodes.set(err.code, (c.retryCodes.get(err.code) ?? 0) + 1);
      }
    }
  };

  // The test's own schedule: kill, restart, and a hold until the restarted node is back in every view.
  let victim: RunningNode = n2first;
  let reservedOps = 0;
  let killedAtMs = 0;
  let restartedAtMs = 0;
  let backEverywhereAtMs = 0;
  let opsWhileDown = 0;
  let holdOpen = false;
  let releaseHold: () => void = () => undefined;
  const holdReleased = new Promise<void>((resolve) => (releaseHold = resolve));
  const milestones: { n: number; resolve: () => void }[] = [];
  const reached = (n: number): Promise<void> => new Promise((resolve) => (c.done >= n ? resolve() : milestones.push({ n, resolve })));
  const opDone = (): void => {
    c.done++;
    if (killedAtMs > 0 && restartedAtMs === 0) opsWhileDown++;
    for (const m of milestones.filter((m) => c.done >= m.n)) m.resolve();
  };

  const schedule = (async () => {
    await reached(KILL_AT);
    await killAndWait(victim.child, 'SIGKILL');
    killedAtMs = Date.now();
    await reached(RESTART_AT);
    victim = await cluster.start('n2', n2first.address, [n1.address, n3.address]);
    restartedAtMs = Date.now();
    n2 = victim;
    await cluster.waitGossip([n1, n2, n3], 'n2', true, 30_000);
    backEverywhereAtMs = Date.now();
    holdOpen = true;
    releaseHold();
  })();

  const worker = async (w: number): Promise<void> => {
    const mine: string[] = [];
    for (let i = w; i < KEYS; i += WORKERS) mine.push(key(i));
    for (let round = 0; ; round++) {
      while (reservedOps >= HOLD_AT && !holdOpen) await holdReleased;
      if (reservedOps >= TOTAL_OPS) return;
      reservedOps += 2;
      const k = mine[round % mine.length]!;
      const next = (latest.get(k) ?? 0) + 1;
      await untilDone(`put ${k}`, () => db.put(k, valueOf(next), { consistency: 2 }), () => c.putRetries++);
      latest.set(k, next);
      c.puts++;
      opDone();
      const got = await untilDone(`get ${k}`, () => db.get(k, { consistency: 2 }), () => c.getRetries++);
      c.gets++;
      opDone();
      const want = valueOf(next);
      const seen = got === undefined ? '(not found)' : got.toString();
      if (seen !== want) {
        const versions = await Promise.all([n1, n2, n3].map(async (n) => `${n.id}: ${formatVersion(await cluster.stored(n, k).catch(() => undefined))}`));
        c.stale.push(`${k}: read ${seen} after ${want} was acknowledged at ${Date.now() - t0} ms; replicas now ${versions.join(', ')}`);
      }
    }
  };

  const started = Date.now();
  await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), schedule]);
  const ms = Date.now() - started;

  t.equal(c.done, TOTAL_OPS, `${TOTAL_OPS} operations done (${c.puts} acknowledged puts, ${c.gets} gets)`);
  t.equal(c.puts, TOTAL_OPS / 2, 'half of them puts');
  t.same(c.stale, [], `0 stale reads: every get returned the latest acknowledged value of its key`);
  t.ok(killedAtMs > 0 && restartedAtMs > killedAtMs && backEverywhereAtMs >= restartedAtMs, 'n2 was killed, restarted, and seen alive again mid-run');
  t.ok(opsWhileDown >= RESTART_AT - KILL_AT, `${opsWhileDown} operations completed while n2 was down (${restartedAtMs - killedAtMs} ms)`);
  t.equal(latest.size, KEYS, `every one of the ${KEYS} keys was written`);
  const codes = [...c.retryCodes].map(([code, n]) => `${code}×${n}`).join(', ') || 'none';
  t.comment(`${TOTAL_OPS} ops in ${ms} ms (${Math.round((TOTAL_OPS * 1000) / ms)} ops/s); retries: ${c.putRetries} puts, ${c.getRetries} gets (${codes})`);
  t.comment(`n2 down ${restartedAtMs - killedAtMs} ms; back in every gossip view ${backEverywhereAtMs - restartedAtMs} ms after its restart`);
});
