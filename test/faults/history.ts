/**
 * A workload's history, as Jepsen records one: every operation is an `invoke` entry, then one completion —
 * `ok` (acknowledged), `fail` (certainly not applied: refused before it was sent) or `info` (unknown: it
 * may or may not have been applied, e.g. a timeout or an UNAVAILABLE after some replicas took it). Fault
 * windows are entries too, so a report can line operations up with the faults they ran under.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionError, InvalidArgumentError, RpcError } from '../../client/index.js';
import { latencyChartSvg } from './latency-chart.js';

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface Op {
  /** Which client (a sequential process, as in Jepsen). */
  process: number;
  type: OpType;
  f: 'write' | 'read' | 'delete';
  key: string;
  /** Written value, or the value a read returned (null: not found). */
  value?: string | null;
  /** ms since the history began. */
  time: number;
  error?: string;
}

export interface FaultEvent {
  type: 'nemesis';
  /** e.g. "kill n3", "heal". */
  what: string;
  time: number;
}

export class History {
  readonly ops: Op[] = [];
  readonly faults: FaultEvent[] = [];
  private readonly t0 = Date.now();

  now(): number {
    return Date.now() - this.t0;
  }

  invoke(process: number, f: Op['f'], key: string, value?: string): void {
    this.ops.push({ process, type: 'invoke', f, key, ...(value === undefined ? {} : { value }), time: this.now() });
  }

  complete(process: number, type: Exclude<OpType, 'invoke'>, f: Op['f'], key: string, extra: { value?: string | null; error?: string } = {}): void {
    this.ops.push({ process, type, f, key, ...extra, time: this.now() });
  }

  fault(what: string): void {
    this.faults.push({ type: 'nemesis', what, time: this.now() });
  }

  /** One JSON object per line: operations and fault events in time order. */
  write(path: string): void {
    const all = [...this.ops, ...this.faults].sort((a, b) => a.time - b.time);
    writeFileSync(path, all.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
}

/**
 * How a failed write completes: `fail` only when it certainly was not applied (never sent, or refused
 * as invalid); anything else — a timeout, UNAVAILABLE after a partial write — is `info`.
 */
export function writeOutcome(err: unknown): 'fail' | 'info' {
  if (err instanceof ConnectionError && err.sent === false) return 'fail';
  if (err instanceof InvalidArgumentError) return 'fail';
  return 'info';
}

export function errorText(err: unknown): string {
  return err instanceof RpcError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/**
 * With FAULTS_REPORT_DIR set (npm run test:faults), writes <scenario>-seed-<seed>.history.jsonl,
 * .verdict.json and .latency.svg (latency over time, fault windows shaded: latency-chart.ts) there;
 * run.ts reads the verdict's `acknowledged`, `lost`, `missingCopies`, `convergedMs`.
 */
export function writeReport(scenario: string, seed: number, history: History, verdict: Record<string, unknown>): void {
  const dir = process.env.FAULTS_REPORT_DIR;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${scenario}-seed-${seed}`);
  history.write(`${base}.history.jsonl`);
  writeFileSync(`${base}.verdict.json`, JSON.stringify({ scenario, seed, ...verdict }, null, 2));
  writeFileSync(`${base}.latency.svg`, latencyChartSvg(history, `${scenario}, seed ${seed}: operation latency over time`));
}
