/**
 * Election bookkeeping for raft.ts: the votes of one (pre-)vote round, counted against the voters of the
 * configuration (a learner's or a removed node's grant counts for nothing), the requests that open a
 * round, and the rule for granting a vote.
 */
import type { Configuration } from './conf.js';
import type { RaftLog } from './log.js';
import type { RaftMessage } from './types.js';

export class Poll {
  private readonly votes = new Map<string, boolean>();

  constructor(
    private readonly conf: Configuration,
    self: string,
  ) {
    this.votes.set(self, true);
  }

  record(from: string, granted: boolean): void {
    this.votes.set(from, granted);
  }

  result(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const [p, v] of this.votes) {
      if (!this.conf.isVoter(p)) continue;
      if (v) granted++;
      else rejected++;
    }
    const quorum = this.conf.quorum();
    if (granted >= quorum) return 'won';
    if (rejected > this.conf.voters().length - quorum) return 'lost';
    return 'pending';
  }
}

/** The requests of a round, one per other voter; `transfer` marks a campaign started by timeout-now. */
export function voteRequests(type: 'pre-vote' | 'vote', from: string, term: number, log: RaftLog, conf: Configuration, transfer: boolean): RaftMessage[] {
  const last = { lastIndex: log.lastIndex(), lastTerm: log.lastTerm() };
  return conf
    .voters()
    .filter((p) => p !== from)
    .map((to) => (type === 'vote' && transfer ? { type, from, to, term, ...last, transfer: true } : { type, from, to, term, ...last }));
}

/**
 * Whether to grant a (pre-)vote request that reached step()'s term checks. A real vote needs us not to
 * have voted for someone else in this term (and, without a vote, not to know a leader); a pre-vote for a
 * later term is always a fair question. Either way the candidate's log must be at least as up to date.
 */
export function grantsVote(m: Extract<RaftMessage, { type: 'vote' | 'pre-vote' }>, state: { term: number; vote: string; leader: string }, log: RaftLog): boolean {
  const canVote = state.vote === m.from || (state.vote === '' && state.leader === '') || (m.type === 'pre-vote' && m.term > state.term);
  return canVote && log.isUpToDate(m.lastIndex, m.lastTerm);
}
