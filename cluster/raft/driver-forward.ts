/**
 * What the admin-style methods answered by the Raft leader share (Decommission 72, StreamDone 76): a
 * node that is not the leader forwards the request to the leader it knows, once (a forwarded request
 * that meets a non-leader is refused with UNAVAILABLE, so the caller retries instead of bouncing), and
 * the leader proposes one cluster command and waits until it is applied.
 */
import type { RpcClient } from '../../rpc/client.js';
import { UnavailableError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import type { ClusterCommand } from '../state/commands.js';
import { encodeCommand } from '../state/commands.js';
import type { ApplyResult, ClusterState } from '../state/cluster-state.js';
import type { AppliedWaiters } from './driver-proposals.js';
import type { Raft } from './raft.js';
import { NotLeaderError, TransferringError, type RaftStatus } from './types.js';

export interface LeaderContext {
  readonly self: string;
  /** Put in the envelope of forwarded requests that carry one (StreamDone). */
  readonly clusterId?: string;
  readonly raft: Raft;
  readonly client: Pick<RpcClient, 'call'>;
  readonly waiters: AppliedWaiters;
  readonly log: Logger;
  state(): ClusterState;
  addressOf(id: string): string | undefined;
  /** Runs the ready loop (after a proposal or a transfer). */
  pump(): void;
}

/** The leader's address to forward to; UNAVAILABLE when there is none or the request was forwarded already. */
export function forwardTarget(ctx: Pick<LeaderContext, 'self' | 'addressOf'>, st: RaftStatus, forwarded: boolean): string {
  const address = st.leader === '' ? undefined : ctx.addressOf(st.leader);
  if (forwarded || address === undefined) throw new UnavailableError(`node ${ctx.self} is not the Raft leader and knows none to forward to; retry`);
  return address;
}

/** Proposes `command` on the leader and waits (at most timeoutMs) until it is applied. */
export async function proposeAndWait(ctx: LeaderContext, command: ClusterCommand, timeoutMs: number): Promise<{ index: number; result: ApplyResult }> {
  let proposal: { index: number; term: number };
  try {
    proposal = ctx.raft.propose(encodeCommand(command));
  } catch (err) {
    if (err instanceof NotLeaderError || err instanceof TransferringError) throw new UnavailableError(`${err.message}; retry`);
    throw err;
  }
  ctx.pump();
  const result = await ctx.waiters.wait(proposal.index, proposal.term, timeoutMs);
  return { index: proposal.index, result };
}
