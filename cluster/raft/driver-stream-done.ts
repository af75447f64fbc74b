/**
 * The StreamDone method (76, proto/streaming.proto): a node that has streamed in every partition it gains
 * in the current transition asks the leader to commit stream-done {id, transition} (cluster/STREAMING.md).
 * Any node forwards it to the leader once, like Decommission (driver-forward.ts). The answer says whether
 * it applied: not when the transition moved on meanwhile (the node then streams for the new one).
 */
import Long from 'long';
import { InvalidArgumentError } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';
import type { mydatastore } from '../../proto/gen/messages.js';
import { forwardTarget, proposeAndWait, type LeaderContext } from './driver-forward.js';

const COMMIT_TIMEOUT_MS = 10_000;

type Response = mydatastore.streaming.StreamDoneResponse.$Properties;

export async function streamDone(ctx: LeaderContext, id: string, transition: number, forwarded: boolean): Promise<Response> {
  if (id === '') throw new InvalidArgumentError('stream-done: the node id is empty');
  if (!Number.isSafeInteger(transition) || transition < 1) throw new InvalidArgumentError(`stream-done: bad transition ${transition}`);
  const st = ctx.raft.status();
  if (st.role !== 'leader') {
    const to = forwardTarget(ctx, st, forwarded);
    return ctx.client.call(to, Methods.StreamDone, { from: { clusterId: ctx.clusterId ?? '', nodeId: ctx.self }, nodeId: id, transition: Long.fromNumber(transition, true), forwarded: true }, { timeoutMs: COMMIT_TIMEOUT_MS });
  }
  const member = ctx.state().members.find((m) => m.id === id);
  if (member !== undefined && (member.streamedTransition ?? 0) === transition) {
    return { leaderId: ctx.self, index: Long.fromNumber(ctx.state().appliedIndex, true), applied: true };
  }
  const { index, result } = await proposeAndWait(ctx, { type: 'stream-done', id, transition }, COMMIT_TIMEOUT_MS);
  if (result.applied) ctx.log.info(`raft: ${id} streamed its partitions for transition ${transition} (index ${index})`);
  return { leaderId: ctx.self, index: Long.fromNumber(index, true), applied: result.applied };
}
