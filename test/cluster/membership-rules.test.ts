import t from 'tap';
import { DisseminationQueue } from '../../cluster/membership/dissemination.js';
import { supersedes } from '../../cluster/membership/member-table.js';
import { ProbeSchedule } from '../../cluster/membership/probe-schedule.js';
import { expectedConfirmations, retransmitLimit, suspicionTimeoutMs, SuspicionTimers } from '../../cluster/membership/suspicion.js';
import { DEFAULT_CONFIG, type MemberRecord, type MemberState } from '../../cluster/membership/types.js';
import { SimRng } from './sim/rng.js';

const rec = (state: MemberState, incarnation: number): MemberRecord => ({ id: 'm', address: 'm:1', incarnation, state, meta: {} });

t.test('gossip precedence: a higher incarnation is the member own word; at equal incarnation worse news wins', (t) => {
  const cases: [MemberState, number, MemberState | undefined, number, boolean][] = [
    ['alive', 1, undefined, 0, true], // a join
    ['suspect', 1, undefined, 0, false], // rumours do not create members
    ['dead', 1, undefined, 0, false],
    ['alive', 2, 'alive', 1, true],
    ['alive', 1, 'alive', 1, false],
    ['alive', 2, 'suspect', 1, true], // refutation
    ['alive', 1, 'suspect', 1, false], // a stale alive cannot clear a suspicion
    ['alive', 2, 'dead', 1, true], // a restarted node rejoins
    ['alive', 1, 'dead', 1, false],
    ['alive', 2, 'left', 1, true],
    ['suspect', 1, 'alive', 1, true],
    ['suspect', 0, 'alive', 1, false], // suspicion of an older life is void
    ['suspect', 1, 'suspect', 1, false],
    ['suspect', 2, 'suspect', 1, true],
    ['suspect', 5, 'dead', 1, false],
    ['dead', 1, 'alive', 1, true],
    ['dead', 1, 'suspect', 1, true],
    ['dead', 0, 'suspect', 1, false],
    ['dead', 2, 'left', 1, false],
    ['left', 1, 'alive', 1, true],
    ['left', 1, 'dead', 1, true], // a node that left and then was found dead is recorded as left
    ['left', 0, 'alive', 1, false],
  ];
  for (const [inState, inInc, curState, curInc, expected] of cases) {
    const current = curState === undefined ? undefined : rec(curState, curInc);
    t.equal(supersedes(rec(inState, inInc), current), expected, `${inState}@${inInc} over ${curState ?? 'unknown'}@${curInc}`);
  }
  t.end();
});

t.test('suspicion timeout scales with log10(n) and shrinks with independent confirmations', (t) => {
  const c = DEFAULT_CONFIG;
  t.equal(suspicionTimeoutMs(c, 5), 4000, 'small clusters: suspicionMult probe intervals');
  t.equal(suspicionTimeoutMs(c, 50), Math.round(4 * Math.log10(50) * 1000), '50 nodes: ~6.8 s');
  t.equal(suspicionTimeoutMs(c, 1000), 12000, '1000 nodes: 12 s');
  t.equal(retransmitLimit(c, 50), 8, 'each change is piggy-backed 4 * ceil(log10(51)) = 8 times');
  t.equal(expectedConfirmations(c, 50), 2);
  t.equal(expectedConfirmations(c, 3), 0, 'a 3-node cluster cannot confirm: shortest timeout at once');

  const timers = new SuspicionTimers();
  const min = suspicionTimeoutMs(c, 50);
  timers.start('x', 7, 'a', 0, c, 50);
  t.equal(timers.nextDeadline(), 6 * min, 'an unconfirmed suspicion gets the long timeout');
  t.notOk(timers.confirm('x', 7, 'a'), 'the originator does not confirm itself');
  t.notOk(timers.confirm('x', 6, 'b'), 'a confirmation of another incarnation does not count');
  t.ok(timers.confirm('x', 7, 'b'));
  t.notOk(timers.confirm('x', 7, 'b'), 'the same confirmer counts once');
  const afterOne = timers.nextDeadline();
  t.ok(afterOne < 6 * min && afterOne > min, `one confirmation: ${afterOne} ms`);
  t.ok(timers.confirm('x', 7, 'c'));
  t.equal(timers.nextDeadline(), min, 'k confirmations: the shortest timeout, from the start of the suspicion');
  t.same(timers.expired(min - 1), []);
  t.same(timers.expired(min), [{ id: 'x', incarnation: 7 }]);
  t.equal(timers.nextDeadline(), Infinity);
  t.end();
});

t.test('dissemination: each change is sent `limit` times, least-sent first, a newer change restarts the count', (t) => {
  const q = new DisseminationQueue();
  q.enqueue('a');
  q.enqueue('b');
  t.same(q.take(1, 3), ['b'], 'newest first among equally-sent');
  t.same(q.take(1, 3), ['a'], 'then the least-sent');
  t.same(q.take(5, 3).sort(), ['a', 'b']);
  t.same(q.take(5, 3).sort(), ['a', 'b'], 'third and last send');
  t.same(q.take(5, 3), [], 'sent `limit` times: dropped');
  q.enqueue('a');
  q.take(5, 3);
  q.enqueue('a');
  let sends = 0;
  while (q.take(5, 3).length > 0) sends++;
  t.equal(sends, 3, 're-queued change gets a fresh count');
  t.end();
});

t.test('probe schedule: every member is probed once per pass; a joiner is probed in the current pass', (t) => {
  const rng = new SimRng(9);
  const s = new ProbeSchedule(rng);
  const members = ['a', 'b', 'c', 'd', 'e'];
  const all = (): string[] => [...members];
  const yes = (): boolean => true;
  for (let pass = 0; pass < 3; pass++) {
    const seen = Array.from({ length: members.length }, () => s.next(yes, all));
    t.same([...seen].sort(), members, `pass ${pass} probes each member exactly once`);
  }
  s.next(yes, all);
  s.add('f');
  members.push('f');
  const rest = Array.from({ length: 5 }, () => s.next(yes, all));
  t.ok(rest.includes('f'), 'the new member is probed before the pass ends');
  t.equal(s.next((id) => id === 'zzz', all), undefined, 'nobody probeable: no target');
  t.end();
});
