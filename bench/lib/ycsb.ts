/**
 * YCSB-style phases against one KvTarget: a load of every key (puts, in key order), and timed workloads
 * mixing reads and updates with zipfian key choice (YCSB core workloads A, B and C):
 *   A  update heavy  50% read / 50% update
 *   B  read mostly   95% read /  5% update
 *   C  read only    100% read
 * `concurrency` loops each keep one request in flight. Latency is recorded per successful operation (µs,
 * histogram.ts); a failure is counted under its error code and not timed; a read that finds no value
 * for a loaded key is counted as the error MISSING_KEY. Ops/s counts successes only.
 */
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import type { HistogramSummary } from './histogram.js';
import { errorCode } from './kv-target.js';
import type { KvTarget } from './kv-target.js';
import type { Progress } from './progress.js';
import { totalCpuMicros, selfCpuMicros } from './proc-cpu.js';
import { ScrambledZipfian } from './zipfian.js';

export interface Workload {
  name: string;
  description: string;
  readFraction: number;
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'A', description: 'update heavy: 50% read, 50% update', readFraction: 0.5 },
  { name: 'B', description: 'read mostly: 95% read, 5% update', readFraction: 0.95 },
  { name: 'C', description: 'read only: 100% read', readFraction: 1 },
];

/** Key i as 16 bytes ("user" + 12 digits), like YCSB's "user..." keys. */
export function keyOf(i: number): Buffer {
  return Buffer.from(`user${String(i).padStart(12, '0')}`);
}

export interface PhaseSpec {
  /** "load", "A", "B" or "C". */
  workload: string;
  target: KvTarget;
  keys: readonly Buffer[];
  value: Buffer;
  concurrency: number;
  /** Timed workloads: how long; the load runs until every key is written. */
  durationMs?: number;
  readFraction?: number;
  /**
   * Open loop (timed phases only): operations are scheduled evenly at this rate instead of back to back,
   * `concurrency` bounding those in flight. Each counts its latency from its scheduled time, so a stall
   * shows as the queue it causes rather than as fewer operations (no coordinated omission), and every
   * operation scheduled inside the window is run and counted, however late it finishes.
   */
  ratePerSec?: number;
  random: () => number;
  progress?: Progress;
  /** Server processes whose CPU time this phase is charged (none: not measured). */
  serverPids?: readonly number[];
}

export interface PhaseResult {
  system: string;
  setting: string;
  workload: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Latency of successful operations in ms; `read` and `update` split it by kind. */
  latencyMs: HistogramSummary;
  readLatencyMs?: HistogramSummary;
  updateLatencyMs?: HistogramSummary;
  errors: number;
  errorsByCode: Record<string, number>;
  /** The first message seen for each error code. */
  errorExamples: Record<string, string>;
  /** When the phase began (ms since the epoch): the cluster report's time axis. */
  startedAtMs?: number;
  /**
   * Successful operations completed in each second of the phase (index 0 = its first second); the last
   * second is partial (`seconds` says where the phase ended).
   */
  opsPerSecond?: number[];
  /** CPU µs per successful operation: every server process summed, and this (client) process. */
  serverCpuUsPerOp?: number;
  clientCpuUsPerOp: number;
}

/** 0 .. n-1 in a random order (Fisher-Yates with the phase's seeded source). */
export function shuffledIndexes(n: number, random: () => number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

export async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  const { target, keys, value } = spec;
  const all = new Histogram();
  const reads = new Histogram();
  const updates = new Histogram();
  const errorsByCode: Record<string, number> = {};
  const errorExamples: Record<string, string> = {};
  let errors = 0;
  const fail = (code: string, message: string) => {
    errors++;
    errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
    errorExamples[code] ??= message;
  };

  const timed = spec.durationMs !== undefined;
  const readFraction = spec.readFraction ?? 0;
  const chooser = new ScrambledZipfian(keys.length, spec.random);
  let nextLoad = 0;
  // The load writes every key once in a shuffled order, as YCSB's default insertorder=hashed does: keys
  // in sorted order would make an LSM's flushed tables never overlap, so compaction would only move
  // files, and the load's rate would say nothing of random writes.
  const loadOrder = timed ? [] : shuffledIndexes(keys.length, spec.random);
  const perSecond: number[] = [];
  const startedAtMs = Date.now();
  const started = performance.now();
  const until = timed ? started + spec.durationMs! : Infinity;

  spec.progress?.start(`${target.setting} ${spec.workload}`, () => {
    const elapsed = (performance.now() - started) / 1000;
    const fraction = timed ? (performance.now() - started) / spec.durationMs! : nextLoad / keys.length;
    return { fraction, text: `${Math.round(all.count / Math.max(elapsed, 1e-3)).toLocaleString('en-US')} ops/s, ${errors} errors` };
  });

  const rate = timed ? spec.ratePerSec : undefined;
  if (rate !== undefined && !(rate > 0)) throw new Error(`ratePerSec must be > 0, got ${rate}`);
  let nextSlot = 0;
  /** Open loop: waits for the next slot; resolves with its scheduled time (undefined: past the window). */
  const onSchedule = async (): Promise<number | undefined> => {
    const due = started + (nextSlot++ * 1000) / rate!;
    if (due >= until) return undefined;
    const now = performance.now();
    if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
    return due;
  };

  const worker = async () => {
    for (;;) {
      let key: Buffer;
      let isRead: boolean;
      let t0 = 0;
      if (rate !== undefined) {
        const slot = await onSchedule();
        if (slot === undefined) return;
        t0 = slot;
      }
      if (timed) {
        // A closed loop stops at the window's end; an open loop runs what was scheduled inside it.
        if (rate === undefined && performance.now() >= until) return;
        key = keys[chooser.next()]!;
        isRead = readFraction >= 1 || spec.random() < readFraction;
      } else {
        if (nextLoad >= keys.length) return;
        key = keys[loadOrder[nextLoad++]!]!;
        isRead = false;
      }
      if (rate === undefined) t0 = performance.now();
      try {
        const found = isRead ? await target.get(key) : (await target.put(key, value), true);
        const t1 = performance.now();
        if (rate === undefined && t1 > until) return; // finished after the window closed: not counted
        if (!found) {
          fail('MISSING_KEY', `a read of loaded key ${key.toString()} found no value`);
          continue;
        }
        const us = (t1 - t0) * 1000;
        all.record(us);
        const second = Math.floor((t1 - started) / 1000);
        perSecond[second] = (perSecond[second] ?? 0) + 1;
        (isRead ? reads : updates).record(us);
      } catch (err) {
        if (rate === undefined && performance.now() > until) return;
        fail(errorCode(err), err instanceof Error ? err.message : String(err));
      }
    }
  };

  const server0 = spec.serverPids === undefined ? undefined : totalCpuMicros(spec.serverPids);
  const client0 = selfCpuMicros();
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  } finally {
    spec.progress?.stop();
  }
  const ended = performance.now();
  const server1 = spec.serverPids === undefined ? undefined : totalCpuMicros(spec.serverPids);
  const clientCpu = selfCpuMicros() - client0;

  const seconds = (Math.min(until, ended) - started) / 1000;
  const ops = all.count;
  const result: PhaseResult = {
    system: target.system,
    setting: target.setting,
    workload: spec.workload,
    ops,
    seconds,
    opsPerSec: seconds > 0 ? ops / seconds : 0,
    latencyMs: inMs(all),
    errors,
    errorsByCode,
    errorExamples,
    startedAtMs,
    opsPerSecond: Array.from(perSecond, (n) => n ?? 0), // a second with no success is a hole: 0
    clientCpuUsPerOp: ops > 0 ? clientCpu / ops : NaN,
  };
  if (reads.count > 0) result.readLatencyMs = inMs(reads);
  if (updates.count > 0) result.updateLatencyMs = inMs(updates);
  if (server0 !== undefined && server1 !== undefined && ops > 0) result.serverCpuUsPerOp = (server1 - server0) / ops;
  return result;
}

function inMs(h: Histogram): HistogramSummary {
  const s = h.summary();
  return { count: s.count, min: s.min / 1000, mean: s.mean / 1000, max: s.max / 1000, p50: s.p50 / 1000, p90: s.p90 / 1000, p99: s.p99 / 1000, p999: s.p999 / 1000 };
}
