/**
 * What the cluster bench drives: one system at one setting. MyDataStore at R=W=2 and at R=W=1 are two
 * targets; peers (etcd, Redis with replicas) become more targets with the same load shape, and their
 * server processes' pids let the bench charge them CPU time per operation.
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
}

export const SETTINGS: readonly ConsistencySetting[] = [
  { name: 'R=W=2 (QUORUM)', read: 'QUORUM', write: 'QUORUM' },
  { name: 'R=W=1 (ONE)', read: 'ONE', write: 'ONE' },
];

/** MyDataStore through the TypeScript client at one consistency setting. */
export function mydatastoreTarget(client: Client, setting: ConsistencySetting, deadlineMs: number): KvTarget {
  const readOpts = { consistency: setting.read, deadlineMs };
  const writeOpts = { consistency: setting.write, deadlineMs };
  return {
    system: 'mydatastore',
    setting: setting.name,
    get: async (key) => (await client.get(key, readOpts)) !== undefined,
    put: async (key, value) => {
      await client.put(key, value, writeOpts);
    },
  };
}
