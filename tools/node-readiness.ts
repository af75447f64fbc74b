/**
 * When a node is ready to serve data (/ready): it is a member of the committed ring — the cluster was
 * created, the committed member list names this node, and it was not removed — and it knows the Raft
 * leader. Before that, its requests would fail with CLUSTER_NO_RING or act on a view no leader vouches
 * for; a load balancer should send them elsewhere. Pure: the node passes its committed state and leader.
 */
import type { ClusterState } from '../cluster/state/cluster-state.js';
import type { Readiness } from '../http/gateway.js';

export function nodeReadiness(nodeId: string, state: Pick<ClusterState, 'created' | 'members'>, leaderId: string): Readiness {
  const missing: string[] = [];
  if (!state.created) {
    missing.push('no committed cluster yet (the first member has not been committed)');
  } else {
    const me = state.members.find((m) => m.id === nodeId);
    if (me === undefined) missing.push(`node ${nodeId} is not in the committed member list yet`);
    else if (me.status === 'removed') missing.push(`node ${nodeId} was removed from the cluster`);
  }
  if (leaderId === '') missing.push('no Raft leader is known');
  return missing.length === 0 ? { ready: true } : { ready: false, why: missing.join('; ') };
}
