/**
 * Typed views of what each bench saved (the JSON of bench/lib/report.ts writeResults, which the suite
 * collects): the LSM bench's variants and their rows, the RPC bench's median rounds, the cluster bench's
 * phases. Each checks just the shape the suite's figures and charts read, and says which bench's file
 * was not what it expected (a BenchSuiteError), rather than failing later on an undefined.
 */
import type { Result as RpcRound } from '../rpc.js';
import type { VariantResult } from './lsm-workloads.js';
import { BenchSuiteError } from './suite-results.js';
import type { PhaseResult } from './ycsb.js';

export type { RpcRound };

function resultsOf(bench: string, saved: unknown): Record<string, unknown> {
  const r = (saved as { results?: unknown } | null)?.results;
  if (r === null || typeof r !== 'object') throw new BenchSuiteError(`${bench}: the saved file has no "results" object`);
  return r as Record<string, unknown>;
}

function listOf(bench: string, saved: unknown, field: string): unknown[] {
  const list = resultsOf(bench, saved)[field];
  if (!Array.isArray(list)) throw new BenchSuiteError(`${bench}: the saved results have no "${field}" list`);
  return list;
}

export function lsmVariants(saved: unknown): VariantResult[] {
  const list = listOf('lsm', saved, 'variants');
  for (const v of list) {
    const x = v as Partial<VariantResult> | null;
    if (x === null || typeof x.variant !== 'string' || !Array.isArray(x.rows)) throw new BenchSuiteError('lsm: a variant without "variant" and "rows"');
  }
  return list as VariantResult[];
}

export function rpcMedians(saved: unknown): RpcRound[] {
  const list = listOf('rpc', saved, 'medians');
  for (const m of list) {
    const x = m as Partial<RpcRound> | null;
    if (x === null || typeof x.system !== 'string' || typeof x.rps !== 'number' || typeof x.inFlight !== 'number') throw new BenchSuiteError('rpc: a median round without "system", "rps" and "inFlight"');
  }
  return list as RpcRound[];
}

export function clusterPhases(saved: unknown): PhaseResult[] {
  const list = listOf('cluster', saved, 'results');
  for (const p of list) {
    const x = p as Partial<PhaseResult> | null;
    if (x === null || typeof x.workload !== 'string' || typeof x.opsPerSec !== 'number' || typeof x.latencyMs !== 'object') {
      throw new BenchSuiteError('cluster: a phase without "workload", "opsPerSec" and "latencyMs"');
    }
  }
  return list as PhaseResult[];
}

/** The scenario name the RPC bench's table uses: "64 in flight, 1024 B". */
export const rpcScenario = (r: { inFlight: number; payloadBytes: number }): string => `${r.inFlight} in flight, ${r.payloadBytes} B`;

/** A cluster phase's name within its system: "R=W=2 (QUORUM) A". */
export const clusterPhaseName = (p: PhaseResult): string => `${p.setting} ${p.workload}`;
