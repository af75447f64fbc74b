/**
 * The cluster configuration replicated through Raft: partitions P (fixed at creation), replicas N and the
 * default read/write quorums R and W. Validation is shared by the command codec (reject at decode) and
 * the state machine (ignore at apply), so both agree on what a valid configuration is.
 */
import { DEFAULT_PARTITIONS, DEFAULT_REPLICAS } from '../ring.js';

export interface ClusterConfig {
  /** P: partitions of the hash space, fixed once the cluster is created. */
  readonly partitions: number;
  /** N: replicas of each partition. */
  readonly replicas: number;
  /** Default R for client reads, ≤ N. */
  readonly readQuorum: number;
  /** Default W for client writes, ≤ N. */
  readonly writeQuorum: number;
}

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  partitions: DEFAULT_PARTITIONS,
  replicas: DEFAULT_REPLICAS,
  readQuorum: 2,
  writeQuorum: 2,
};

/** Upper bounds, so a corrupt or hostile command cannot ask for a ring of absurd size. */
export const MAX_PARTITIONS = 65536;
export const MAX_REPLICAS = 64;

function intIn(v: number, min: number, max: number): boolean {
  return Number.isInteger(v) && v >= min && v <= max;
}

/** Why `c` is not a valid configuration, or undefined when it is. */
export function configProblem(c: ClusterConfig): string | undefined {
  if (!intIn(c.partitions, 1, MAX_PARTITIONS)) return `partitions must be an integer in 1..${MAX_PARTITIONS}`;
  if (!intIn(c.replicas, 1, MAX_REPLICAS)) return `replicas must be an integer in 1..${MAX_REPLICAS}`;
  if (!intIn(c.readQuorum, 1, c.replicas)) return `read quorum must be an integer in 1..N (N = ${c.replicas})`;
  if (!intIn(c.writeQuorum, 1, c.replicas)) return `write quorum must be an integer in 1..N (N = ${c.replicas})`;
  return undefined;
}

export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return (
    a.partitions === b.partitions &&
    a.replicas === b.replicas &&
    a.readQuorum === b.readQuorum &&
    a.writeQuorum === b.writeQuorum
  );
}
