/**
 * LeaderPlanning: the leader's periodic decisions, around the pure planner (cluster/state/planner.ts). It
 * feeds the planner the committed state, the Raft configuration and gossip's view (with how long each
 * member has been in its state), and proposes what it returns. Between rounds it remembers what the
 * planner cannot know: when the epoch was last bumped, and which proposals are still on their way — the
 * next round waits until they are applied, so the same command is not proposed twice.
 */
import type { Logger } from '../../rpc/logger.js';
import type { MemberRecord } from '../membership/types.js';
import { encodeCommand } from '../state/commands.js';
import type { ClusterState } from '../state/cluster-state.js';
import { DEFAULT_PLANNER_OPTIONS, planLeaderActions, type PlannerOptions } from '../state/planner.js';
import { GossipAges } from './driver-views.js';
import type { Raft } from './raft.js';
import { ConfChangePendingError, NotLeaderError, TransferringError } from './types.js';

/** Proposals not applied after this long were lost (a term change); the planner plans again. */
const LOST_PROPOSAL_MS = 5000;

export class LeaderPlanning {
  private readonly options: PlannerOptions;
  private gossipAges = new GossipAges();
  private lastEpochBumpMs = 0;
  private proposedIndex = 0;
  private proposedAtMs = 0;
  private confChangeIndex = 0;
  private transferAtMs = -Infinity;

  constructor(
    private readonly self: string,
    private readonly log: Logger,
    options: Partial<PlannerOptions>,
  ) {
    this.options = { ...DEFAULT_PLANNER_OPTIONS, ...options };
  }

  /** A new term of leadership: wait a full epoch interval before the first bump; forget older proposals. */
  becameLeader(nowMs: number): void {
    this.lastEpochBumpMs = nowMs;
    this.proposedIndex = 0;
    this.confChangeIndex = 0;
    // Ages seen in an earlier term went stale while this node followed (a member may have come back and
    // died again since): count them afresh, erring towards waiting.
    this.gossipAges = new GossipAges();
  }

  /** One round on the leader; returns whether anything was proposed. */
  run(raft: Raft, state: ClusterState, gossip: readonly MemberRecord[], nowMs: number): boolean {
    const status = raft.status();
    if (status.role !== 'leader') return false;
    const view = this.gossipAges.view(gossip, nowMs); // every round, so that no state change goes unseen while proposals wait
    if (this.proposedIndex > status.applied && nowMs - this.proposedAtMs < LOST_PROPOSAL_MS) return false;
    if (state.members.find((m) => m.id === this.self)?.status === 'leaving' && nowMs - this.transferAtMs >= LOST_PROPOSAL_MS) {
      // A leaving leader cannot finish its own transition (the planner never removes self): hand over.
      const to = status.conf.voters.filter((v) => v !== this.self).sort((a, b) => (status.progress[b]?.match ?? 0) - (status.progress[a]?.match ?? 0))[0];
      if (to !== undefined) {
        this.transferAtMs = nowMs;
        this.log.info(`raft: this leader is leaving the cluster: handing leadership to ${to}`);
        raft.transferLeadership(to);
        return true;
      }
    }
    const plan = planLeaderActions({
      self: this.self,
      state,
      conf: status.conf,
      gossip: view,
      nowMs,
      lastEpochBumpMs: this.lastEpochBumpMs,
      options: this.options,
      pendingConfChange: this.confChangeIndex > status.applied,
    });
    for (const note of plan.notes) this.log.debug(`raft: planner: ${note}`);
    let proposed = false;
    try {
      for (const c of plan.commands) {
        this.proposedIndex = raft.propose(encodeCommand(c)).index;
        this.proposedAtMs = nowMs;
        proposed = true;
        if (c.type === 'increment-epoch') this.lastEpochBumpMs = nowMs;
      }
      if (plan.confChange !== undefined) {
        this.confChangeIndex = raft.proposeConfChange(plan.confChange).index;
        proposed = true;
        this.log.info(`raft: proposing ${plan.confChange.type} ${plan.confChange.node}`);
      }
    } catch (err) {
      // Leadership lost or handed over, or a conf change still pending: the next round sees the new state.
      const race = err instanceof NotLeaderError || err instanceof ConfChangePendingError || err instanceof TransferringError;
      if (!race) this.log.warn(`raft: proposal refused: ${(err as Error).message}`, { code: (err as { code?: string }).code });
    }
    return proposed;
  }
}
