/**
 * Runs the load test's schedule (k6's ramping-vus executor): every tick it asks the stages how many
 * virtual users there should be, starts users up to that number, and tells the newest ones to stop
 * after their current iteration when there should be fewer. Users are spread over the nodes round-robin
 * (user i talks to urls[i % n] only). A user's id is never reused while a user with that id still runs,
 * so each key has one writer.
 *
 * At the end of the schedule every user finishes its iteration; one still running gracefulStopMs later
 * is interrupted (its in-flight request aborted, the iteration counted as interrupted). Every loop here
 * ends by the clock: the schedule's length, plus that grace.
 */
import { setMaxListeners } from 'node:events';
import { NodeEndpoint } from './loadtest-http.js';
import { LoadtestTally } from './loadtest-metrics.js';
import type { LoadtestSummary } from './loadtest-metrics.js';
import { IterationInterrupted, runIteration } from './loadtest-scenario.js';
import type { ScenarioOptions, VuContext } from './loadtest-scenario.js';
import { targetAt, totalMs } from './loadtest-stages.js';
import type { Stage } from './loadtest-stages.js';
import type { Progress } from './progress.js';

export interface LoadtestRunOptions extends ScenarioOptions {
  /** Base URLs of the nodes' HTTP gateways, e.g. `http://127.0.0.1:8001`. */
  urls: string[];
  stages: Stage[];
  /** Per request: no answer by then is a failed request (LOADTEST_TIMEOUT). */
  timeoutMs: number;
  gracefulStopMs: number;
  progress?: Progress;
  /** How often the schedule is looked at (ms). */
  tickMs?: number;
}

interface Vu {
  id: number;
  stopping: boolean;
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runLoadtest(o: LoadtestRunOptions): Promise<LoadtestSummary> {
  if (o.urls.length === 0) throw new TypeError('the load test needs at least one node URL');
  const endpoints = o.urls.map((u) => new NodeEndpoint(u, o.timeoutMs));
  const tally = new LoadtestTally();
  const abort = new AbortController();
  // Every request in flight listens on it: one per user, and users are as many as the stages say.
  setMaxListeners(0, abort.signal);
  const total = totalMs(o.stages);
  const tickMs = o.tickMs ?? 100;
  const live: Vu[] = [];
  let failure: Error | undefined;
  const start = Date.now();
  const hardDeadline = start + total + o.gracefulStopMs;

  const startVu = () => {
    const used = new Set(live.map((v) => v.id));
    let id = 0;
    while (used.has(id)) id++;
    const ctx: VuContext = { endpoint: endpoints[id % endpoints.length]!, tally, signal: abort.signal, options: o };
    const vu: Vu = { id, stopping: false, done: Promise.resolve() };
    vu.done = vuLoop(ctx, vu, hardDeadline)
      .catch((err: unknown) => {
        failure ??= err instanceof Error ? err : new Error(String(err)); // a bug in the scenario, not a failed request: reported after the run
        abort.abort();
      })
      .finally(() => {
        const i = live.indexOf(vu);
        if (i >= 0) live.splice(i, 1);
      });
    live.push(vu);
    tally.vusMax = Math.max(tally.vusMax, live.length);
  };

  let lastSecond = 0;
  let lastRequests = 0;
  let lastFailed = 0;
  const sampleTimeline = (elapsed: number, target: number) => {
    tally.timeline.push({ t: Math.round(elapsed / 100) / 10, vus: live.length, target, requests: tally.requests - lastRequests, failed: tally.failedRequests - lastFailed });
    lastRequests = tally.requests;
    lastFailed = tally.failedRequests;
  };
  o.progress?.start('load test', () => {
    const last = tally.timeline.at(-1);
    return { fraction: (Date.now() - start) / total, text: `${live.length} VUs, ${last?.requests ?? 0} req/s, ${tally.requests} requests, ${tally.failedChecks} failed checks` };
  });

  try {
    for (let elapsed = 0; elapsed < total && failure === undefined; elapsed = Date.now() - start) {
      const target = targetAt(o.stages, elapsed);
      const running = live.filter((v) => !v.stopping);
      for (let n = running.length; n < target; n++) startVu();
      // The newest users stop first, as k6 ramps down.
      for (const vu of running.sort((a, b) => b.id - a.id).slice(0, Math.max(0, running.length - target))) vu.stopping = true;
      if (Math.floor(elapsed / 1000) > lastSecond) {
        lastSecond = Math.floor(elapsed / 1000);
        sampleTimeline(elapsed, target);
      }
      await sleep(Math.min(tickMs, total - elapsed));
    }
    for (const vu of live) vu.stopping = true;
    const allDone = Promise.all(live.map((v) => v.done));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace over'>((r) => (graceTimer = setTimeout(() => r('grace over'), o.gracefulStopMs)));
    if ((await Promise.race([allDone, graceOver])) === 'grace over') abort.abort();
    clearTimeout(graceTimer);
    await allDone;
    sampleTimeline(Date.now() - start, 0);
  } finally {
    o.progress?.stop();
    abort.abort();
    for (const e of endpoints) e.close();
  }
  if (failure !== undefined) throw failure;
  return tally.summary(o.urls, o.stages, Date.now() - start);
}

async function vuLoop(ctx: VuContext, vu: Vu, hardDeadline: number): Promise<void> {
  for (let iteration = 0; !vu.stopping && !ctx.signal.aborted && Date.now() < hardDeadline; iteration++) {
    try {
      await runIteration(ctx, vu.id, iteration);
      ctx.tally.iterations++;
    } catch (err) {
      if (!(err instanceof IterationInterrupted)) throw err;
      ctx.tally.interruptedIterations++;
      return;
    }
  }
}
