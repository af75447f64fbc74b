import t from 'tap';
import { decodeMessage, encodeMessage, MAX_ENTRIES_PER_MESSAGE } from '../../cluster/raft/codec.js';
import { RaftLog } from '../../cluster/raft/log.js';
import { Raft } from '../../cluster/raft/raft.js';
import { RaftDecodeError, type Entry, type NotLeaderError, type RaftMessage } from '../../cluster/raft/types.js';
import { SafetyChecker, SafetyViolation } from './raft-sim/checker.js';

const e = (index: number, term: number, data = ''): Entry => ({ index, term, type: 'normal', data: Buffer.from(data) });
/** Comparable form: entry payloads as number arrays (a Buffer and a Uint8Array differ for t.same). */
const plain = (m: RaftMessage): unknown =>
  m.type === 'app' ? { ...m, entries: m.entries.map((x) => ({ ...x, data: Array.from(x.data) })) } : m;
const zero = { next: (): number => 0 };

t.test('codec: every message type round-trips; bad input is a RaftDecodeError', (t) => {
  const base = { from: 'n1', to: 'nœud-2', term: 2 ** 40 + 3 };
  const msgs: RaftMessage[] = [
    { ...base, type: 'pre-vote', lastIndex: 7, lastTerm: 3 },
    { ...base, type: 'vote', lastIndex: 0, lastTerm: 0 },
    { ...base, type: 'pre-vote-resp', reject: true },
    { ...base, type: 'vote-resp', reject: false },
    { ...base, type: 'app', prevIndex: 4, prevTerm: 2, commit: 3, entries: [e(5, 2, 'a'), e(6, 3, '')] },
    { ...base, type: 'app-resp', index: 9, reject: true, hintTerm: 2, hintIndex: 5 },
    { ...base, type: 'heartbeat', commit: Number.MAX_SAFE_INTEGER },
    { ...base, type: 'heartbeat-resp' },
  ];
  for (const m of msgs) {
    const back = decodeMessage(encodeMessage(m));
    t.same(plain(back), plain(m), m.type);
  }
  t.same(
    Buffer.from(encodeMessage({ type: 'heartbeat-resp', from: 'a', to: 'b', term: 2 })).toString('hex'),
    '0108000161000162' + '0000000000000002',
    'the worked example of codec.ts',
  );
  const good = encodeMessage(msgs[4]!);
  const bad: [string, Uint8Array][] = [
    ['truncated', good.subarray(0, good.length - 1)],
    ['trailing', Buffer.concat([good, Buffer.from([0])])],
    ['version', Buffer.concat([Buffer.from([9]), good.subarray(1)])],
    ['type', Buffer.concat([Buffer.from([1, 99]), good.subarray(2)])],
    ['empty', new Uint8Array(0)],
  ];
  for (const [what, b] of bad) t.throws(() => decodeMessage(b), RaftDecodeError, what);
  // An entry count over the limit is refused before anything is allocated for it.
  const huge = Buffer.from(encodeMessage({ ...base, type: 'app', prevIndex: 0, prevTerm: 0, commit: 0, entries: [] }));
  huge.writeUInt32BE(MAX_ENTRIES_PER_MESSAGE + 1, huge.length - 4);
  t.throws(() => decodeMessage(huge), { code: 'RAFT_BAD_MESSAGE' });
  t.end();
});

t.test('log: conflicts truncate, matching entries are kept, terms for backtracking', (t) => {
  const log = new RaftLog([e(1, 1), e(2, 1), e(3, 2), e(4, 2), e(5, 2)], 2);
  t.equal(log.firstIndexOfTerm(5), 3);
  t.equal(log.lastIndexOfTerm(1), 2);
  t.equal(log.lastIndexOfTerm(3), undefined);
  // A stale, shorter append that matches keeps the tail.
  t.equal(log.appendFromLeader(2, [e(3, 2)]), 3);
  t.equal(log.lastIndex(), 5);
  // A conflicting one truncates from the first conflict.
  log.appendFromLeader(3, [e(4, 3)]);
  t.same(log.all().map((x) => x.term), [1, 1, 2, 3]);
  t.equal(log.stable, 3, 'truncation pulls the stable mark back');
  t.throws(() => log.appendFromLeader(1, [e(2, 9)]), /committed/);
  t.ok(log.isUpToDate(4, 3) && log.isUpToDate(1, 4) && !log.isUpToDate(9, 2));
  t.end();
});

t.test('propose on a follower throws NotLeaderError with the leader hint', (t) => {
  const r = new Raft({ id: 'a', peers: ['a', 'b'], rng: zero });
  r.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0 });
  const err = t.throws(() => r.propose(Buffer.from('x'))) as NotLeaderError;
  t.equal(err.code, 'RAFT_NOT_LEADER');
  t.equal(err.leader, 'b');
  t.end();
});

t.test('a single node elects itself and commits alone; restart recovers term, vote, log', (t) => {
  const r = new Raft({ id: 'a', peers: ['a'], rng: zero });
  r.campaign();
  t.equal(r.role, 'leader');
  r.propose(Buffer.from('x'));
  const rd = r.ready();
  t.same(rd.hardState, { term: 1, vote: 'a', commit: 2 });
  t.same(rd.entries.map((x) => x.index), [1, 2]);
  t.same(rd.committedEntries.map((x) => x.index), [1, 2]);
  t.same(rd.softState, { leader: 'a', role: 'leader' });
  r.advance(rd);
  t.notOk(r.hasReady());
  const again = new Raft({ id: 'a', peers: ['a'], rng: zero, persisted: { hardState: rd.hardState!, entries: rd.entries } });
  t.equal(again.term, 1);
  t.equal(again.vote, 'a');
  t.equal(again.role, 'follower');
  t.same(again.ready().committedEntries.map((x) => Buffer.from(x.data).toString()), ['', 'x'], 'applies again from 1');
  t.end();
});

t.test('the safety checker fires on each kind of violation', (t) => {
  const terms = (...ts: number[]) => (i: number) => (i === 0 ? 0 : ts[i - 1]);
  let c = new SafetyChecker();
  c.onLeader('a', 2, terms());
  t.throws(() => c.onLeader('b', 2, terms()), SafetyViolation, 'two leaders in one term');

  c = new SafetyChecker();
  c.onEntries('a', [e(1, 1, 'x'), e(2, 1, 'y')], terms(1, 1));
  t.throws(() => c.onEntries('b', [e(2, 1, 'z')], terms(1, 1)), /log matching/, 'same index/term, other data');
  t.throws(() => c.onEntries('b', [e(2, 1, 'y')], terms(3, 1)), /log matching/, 'same index/term, other predecessor');

  c = new SafetyChecker();
  c.onLeader('a', 1, terms(1));
  c.onCommit(1, 1, (i) => (i === 1 ? e(1, 1) : undefined));
  t.throws(() => c.onLeader('b', 2, terms()), /leader completeness/, 'new leader lacks a committed entry');

  c = new SafetyChecker();
  c.onApply('a', e(1, 1, 'x'));
  t.throws(() => c.onApply('b', e(1, 2, 'y')), /state machine safety/, 'different entries applied at one index');
  t.throws(() => c.onApply('a', e(3, 1)), /applied 3 after 1/, 'out of order');
  t.end();
});
