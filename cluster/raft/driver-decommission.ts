/**
 * The Decommission method (72): takes a member out of the cluster. The leader proposes
 * set-member-status leaving; the member's partitions are then streamed to their new owners
 * (cluster/STREAMING.md) and the planner's finish-transition removes it. The leader answers once the
 * member is *removed*: if that takes longer than REMOVAL_WAIT_MS it answers UNAVAILABLE ("still
 * streaming; retry"), and a retry (the CLI retries until its --timeout) finds the member leaving and waits
 * again — also when it came before the first request's proposal was applied and proposed it again. A
 * joining member holds no data anyone needs and is removed at once. While another transition is in
 * flight a new decommission is refused with UNAVAILABLE (one transition at a time); retry.
 * Any other node forwards the request to the leader, once. The leader does not remove itself: it hands
 * leadership to another voter and asks the caller to retry.
 */
import Long from 'long';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { inTransition } from '../state/transition.js';
import { forwardTarget, proposeAndWait, type LeaderContext } from './driver-forward.js';

/** How long a forwarding node waits for the leader's answer, and the leader for the commit. */
const COMMIT_TIMEOUT_MS = 10_000;
/** How long the leader waits for the member to be removed before it asks the caller to retry. */
const REMOVAL_WAIT_MS = 6000;
const POLL_MS = 50;

export type DecommissionContext = LeaderContext;

type Response = mydatastore.cluster.DecommissionResponse.$Properties;

export async function decommission(ctx: DecommissionContext, id: string, forwarded: boolean): Promise<Response> {
  if (id === '') throw new InvalidArgumentError('decommission: the node id is empty');
  const st = ctx.raft.status();
  if (st.role !== 'leader') {
    return ctx.client.call(forwardTarget(ctx, st, forwarded), Methods.Decommission, { nodeId: id, forwarded: true }, { timeoutMs: COMMIT_TIMEOUT_MS });
  }
  const started = Date.now();
  const done = (): Response => ({
    leaderId: ctx.self,
    index: Long.fromNumber(ctx.state().appliedIndex, true),
    epoch: Long.fromNumber(ctx.state().epoch, true),
  });
  const member = ctx.state().members.find((m) => m.id === id);
  if (member === undefined) throw new NotFoundError(`no member ${id} in the committed member list`);
  if (member.status === 'removed') return done();
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
  if (member.status !== 'leaving') {
    const busy = ctx.state().members.filter((m) => inTransition(m) && m.id !== id);
    if (member.status === 'active' && busy.length > 0) {
      throw new UnavailableError(`transition ${ctx.state().transition ?? 0} is in flight (${busy.map((m) => `${m.id} ${m.status}`).join(', ')}); retry once it finishes`);
    }
    const status = member.status === 'joining' ? 'removed' : 'leaving';
    const { index, result } = await proposeAndWait(ctx, { type: 'set-member-status', id, status }, COMMIT_TIMEOUT_MS);
    if (result.applied) ctx.log.info(`raft: decommission of ${id}: ${status} committed at index ${index}`);
    else {
      // A retry that came while the first request's proposal was still being committed proposed again:
      // the first one set the status, so this one has nothing left to do but wait with it.
      const now = ctx.state().members.find((m) => m.id === id)?.status;
      if (now !== status && now !== 'removed') throw new InvalidArgumentError(`${id} was not decommissioned: ${result.reason ?? 'no effect'}`);
    }
  }
  while (Date.now() - started < REMOVAL_WAIT_MS) {
    const now = ctx.state().members.find((m) => m.id === id);
    if (now === undefined || now.status === 'removed') return done();
    if (ctx.raft.status().role !== 'leader') break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new UnavailableError(`${id} is leaving: its partitions are still streaming to their new owners; retry to wait for the removal`);
}
