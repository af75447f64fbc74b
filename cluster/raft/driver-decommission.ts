/**
 * The Decommission method (72): removes a member from the committed member list. The leader proposes
 * set-member-status removed and answers once it is applied (the planner then drops the node from the Raft
 * configuration and the ring no longer holds it); any other node forwards the request to the leader, once.
 * The leader does not remove itself: it hands leadership to another voter and asks the caller to retry.
 */
import Long from 'long';
import type { RpcClient } from '../../rpc/client.js';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../../rpc/errors.js';
import type { Logger } from '../../rpc/logger.js';
import { Methods } from '../../rpc/methods.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { encodeCommand } from '../state/commands.js';
import type { ClusterState } from '../state/cluster-state.js';
import type { AppliedWaiters } from './driver-proposals.js';
import type { Raft } from './raft.js';
import { NotLeaderError, TransferringError } from './types.js';

/** How long the leader waits for the removal to commit, and a forwarding node for the leader's answer. */
const COMMIT_TIMEOUT_MS = 10_000;

export interface DecommissionContext {
  readonly self: string;
  readonly raft: Raft;
  readonly client: Pick<RpcClient, 'call'>;
  readonly waiters: AppliedWaiters;
  readonly log: Logger;
  state(): ClusterState;
  addressOf(id: string): string | undefined;
  /** Runs the ready loop (after a proposal or a transfer). */
  pump(): void;
}

type Response = mydatastore.cluster.DecommissionResponse.$Properties;

export async function decommission(ctx: DecommissionContext, id: string, forwarded: boolean): Promise<Response> {
  if (id === '') throw new InvalidArgumentError('decommission: the node id is empty');
  const st = ctx.raft.status();
  if (st.role !== 'leader') {
    const address = st.leader === '' ? undefined : ctx.addressOf(st.leader);
    if (forwarded || address === undefined) throw new UnavailableError(`node ${ctx.self} is not the Raft leader and knows none to forward to; retry`);
    return ctx.client.call(address, Methods.Decommission, { nodeId: id, forwarded: true }, { timeoutMs: COMMIT_TIMEOUT_MS });
  }
  const done = (index: number): Response => ({
    leaderId: ctx.self,
    index: Long.fromNumber(index, true),
    epoch: Long.fromNumber(ctx.state().epoch, true),
  });
  const member = ctx.state().members.find((m) => m.id === id);
  if (member === undefined) throw new NotFoundError(`no member ${id} in the committed member list`);
  if (member.status === 'removed') return done(st.applied);
  if (id === ctx.self) {
    // The most caught-up voter (as stop() does), not the first by order: that one may be dead, and every
    // retry would then hand leadership to it again and time out.
    const to = st.conf.voters
      .filter((v) => v !== ctx.self)
      .sort((a, b) => (st.progress[b]?.match ?? 0) - (st.progress[a]?.match ?? 0))[0];
    if (to === undefined) throw new InvalidArgumentError(`${id} is the only Raft voter: it cannot be removed`);
    ctx.raft.transferLeadership(to);
    ctx.pump();
    throw new UnavailableError(`${id} is the Raft leader: handing leadership to ${to} first; retry`);
  }
  let proposal: { index: number; term: number };
  try {
    proposal = ctx.raft.propose(encodeCommand({ type: 'set-member-status', id, status: 'removed' }));
  } catch (err) {
    if (err instanceof NotLeaderError || err instanceof TransferringError) throw new UnavailableError(`${err.message}; retry`);
    throw err;
  }
  ctx.log.info(`raft: decommission of ${id} proposed at index ${proposal.index}`);
  ctx.pump();
  const result = await ctx.waiters.wait(proposal.index, proposal.term, COMMIT_TIMEOUT_MS);
  if (!result.applied) throw new InvalidArgumentError(`${id} was not removed: ${result.reason ?? 'no effect'}`);
  return done(proposal.index);
}
