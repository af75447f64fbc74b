/**
 * The operator's reconcile step, pure: from the desired size of a MyDataStore resource and what is observed
 * (the StatefulSet's replicas and ready pods, the cluster's committed state from `mydatastore status`) to
 * the one next action. The wiring (main.ts) applies it and calls again; one step at a time, never two.
 *
 * - Scale up: one pod more, only once every pod is ready, is an `active` member and no member is
 *   `joining` or `leaving` (cluster/STREAMING.md: that is when partition streaming has finished).
 * - Scale down: decommission the member of the highest ordinal (it streams its partitions away while its
 *   pod still runs), wait until it is `removed` and nothing else moves, then remove the pod.
 * - A live member whose pod is gone (the StatefulSet was scaled down by hand) is decommissioned, so the
 *   ring does not keep counting on it.
 *
 * Pods are matched to members by address: a pod's node id changes whenever its volume is new (a removed id
 * can never rejoin), its address (stable StatefulSet DNS name) does not.
 */
import type { NodeStatus } from '../../tools/commands/status.js';

/** The part of the Status response the reconcile step reads. */
export type ClusterView = Pick<NodeStatus, 'created' | 'leaderId' | 'members' | 'config'>;

export interface Observed {
  /** spec.replicas of the StatefulSet. */
  replicas: number;
  /** status.readyReplicas of the StatefulSet: pods whose /ready answers 200. */
  readyReplicas: number;
  /** The committed cluster state as a node reports it; null when no node answered. */
  cluster: ClusterView | null;
}

/** How pods are named on the wire: the RPC address (`--listen`) of the pod of ordinal i. */
export type PodAddress = (ordinal: number) => string;

export type Action =
  | { kind: 'nothing' }
  | { kind: 'wait'; reason: string }
  | { kind: 'scaleStatefulSet'; replicas: number }
  | { kind: 'decommission'; nodeId: string };

/** Desired or observed numbers that cannot describe a cluster. */
export class ReconcileInputError extends TypeError {
  override readonly name = 'ReconcileInputError';
}

type Member = NodeStatus['members'][number];

const wait = (reason: string): Action => ({ kind: 'wait', reason });

function checkCount(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw new ReconcileInputError(`${what} must be an integer >= ${min}, got ${n}`);
}

/** The member a pod runs: the live (not removed) member with the pod's address. */
function memberOf(members: readonly Member[], address: string): Member | undefined {
  return members.find((m) => m.address === address && m.status !== 'removed');
}

export function reconcile(desired: number, observed: Observed, podAddress: PodAddress): Action {
  checkCount('the desired size', desired, 1);
  checkCount('the StatefulSet replicas', observed.replicas, 0);
  checkCount('the ready replicas', observed.readyReplicas, 0);
  const { replicas, readyReplicas, cluster } = observed;

  // No pod yet: the first one creates the cluster (ordinal 0 bootstraps).
  if (replicas === 0) return { kind: 'scaleStatefulSet', replicas: 1 };
  if (cluster === null) return wait('no node answered Status yet');
  if (!cluster.created) return wait('the cluster is not created yet (no committed member)');
  if (cluster.leaderId === '') return wait('the cluster has no Raft leader');

  const live = cluster.members.filter((m) => m.status !== 'removed');
  const moving = live.filter((m) => m.status === 'joining' || m.status === 'leaving');
  const streaming = moving.length === 0 ? '' : `partitions are streaming (${moving.map((m) => `${m.id} ${m.status}`).join(', ')})`;
  const allReady = readyReplicas >= replicas ? '' : `${readyReplicas} of ${replicas} pods are ready`;

  if (desired < replicas) {
    const top = memberOf(cluster.members, podAddress(replicas - 1));
    // Its member is removed (or never joined): the pod holds nothing the cluster needs any more.
    if (top === undefined) return streaming !== '' ? wait(streaming) : { kind: 'scaleStatefulSet', replicas: replicas - 1 };
    if (top.status === 'leaving') return wait(`${top.id} is leaving: its partitions are streaming to their next owners`);
    if (streaming !== '') return wait(streaming);
    if (allReady !== '') return wait(allReady);
    if (live.length - 1 < cluster.config.replicas) {
      return wait(`not decommissioning ${top.id}: ${live.length - 1} members could not hold N=${cluster.config.replicas} replicas of each key`);
    }
    return { kind: 'decommission', nodeId: top.id };
  }

  if (streaming !== '') return wait(streaming);
  if (allReady !== '') return wait(allReady);
  const podAddresses = new Set<string>();
  for (let i = 0; i < replicas; i++) {
    const address = podAddress(i);
    podAddresses.add(address);
    const m = memberOf(cluster.members, address);
    if (m === undefined) return wait(`the pod at ${address} is not a member yet`);
    if (m.status !== 'active') return wait(`${m.id} (${address}) is ${m.status}`);
  }
  const orphan = live.find((m) => !podAddresses.has(m.address));
  if (orphan !== undefined) return { kind: 'decommission', nodeId: orphan.id };
  if (desired > replicas) return { kind: 'scaleStatefulSet', replicas: replicas + 1 };
  return { kind: 'nothing' };
}
