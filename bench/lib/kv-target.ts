/**
 * What the cluster bench drives: one system at one setting. MyDataStore at R=W=2 and at R=W=1 are two
 * targets, and R=W=2 with durable puts a third (for a second load only); peers (etcd, Redis with
 * replicas) become more targets with the same load shape, and their server processes' pids let the
 * bench charge them CPU time per operation.
 */
import { RpcError } from '../../client/index.js';
import type { Client, Consistency } from '../../client/index.js';

export interface KvTarget {
  /** The system, e.g. "mydatastore". */
  readonly system: string;
  /** The setting, e.g. "R=W=2 (QUORUM)". */
  readonly setting: string;
  /** True when the key was found. */
  get(key: Buffer): Promise<boolean>;
  put(key: Buffer, value: Buffer): Promise<void>;
}

/** A stable code for an operation's failure, for the error counts. */
export function errorCode(err: unknown): string {
  if (err instanceof RpcError) return err.code;
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.name;
  return 'UNKNOWN';
}

export interface ConsistencySetting {
  name: string;
  read: Consistency;
  write: Consistency;
  /** Puts ask each replica to fdatasync before it acknowledges (WriteOptions.durable); else the server's default. */
  durable?: boolean;
}

export const SETTINGS: readonly ConsistencySetting[] = [
  { name: 'R=W=2 (QUORUM)', read: 'QUORUM', write: 'QUORUM' },
  { name: 'R=W=1 (ONE)', read: 'ONE', write: 'ONE' },
];

/**
 * Issue 13's "puts at W=2 with durable writes": QUORUM puts that each replica fdatasyncs before it
 * acknowledges (group commit), reads at QUORUM. Apart from SETTINGS because only a load runs with it.
 */
export const DURABLE_QUORUM: ConsistencySetting = { name: 'R=W=2 (QUORUM), durable', read: 'QUORUM', write: 'QUORUM', durable: true };

/** MyDataStore through the TypeScript client at one consistency setting. */
export function mydatastoreTarget(client: Client, setting: ConsistencySetting, deadlineMs: number): KvTarget {
  const readOpts = { consistency: setting.read, deadlineMs };
  // Without `durable` the request leaves it to the server (--durable-writes, off by default).
  const writeOpts = { consistency: setting.write, deadlineMs, ...(setting.durable === true ? { durable: true } : {}) };
  return {
    system: 'mydatastore',
    setting: setting.name,
    get: async (key) => (await client.get(key, readOpts)) !== undefined,
    put: async (key, value) => {
      await client.put(key, value, writeOpts);
    },
  };
}
