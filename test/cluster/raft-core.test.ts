import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decodeMessage, encodeMessage, MAX_ENTRIES_PER_MESSAGE, MAX_SNAPSHOT_BYTES } from '../../cluster/raft/codec.js';
import { RaftLog } from '../../cluster/raft/log.js';
import { Raft } from '../../cluster/raft/raft.js';
import { decodeConfChange, encodeConfChange } from '../../cluster/raft/conf-change.js';
import {
  BadCompactionError,
  BadConfChangeError,
  BadTransferError,
  ConfChangePendingError,
  RaftDecodeError,
  TransferringError,
  type Entry,
  type NotLeaderError,
  type RaftMessage,
} from '../../cluster/raft/types.js';
import { SafetyChecker, SafetyViolation, stateHash } from './raft-sim/checker.js';

const e = (index: number, term: number, data = ''): Entry => ({ index, term, type: 'normal', data: Buffer.from(data) });
/** Comparable form: entry payloads as number arrays (a Buffer and a Uint8Array differ for t.same). */
const plain = (m: RaftMessage): unknown =>
  m.type === 'app'
    ? { ...m, entries: m.entries.map((x) => ({ ...x, data: Array.from(x.data) })) }
    : m.type === 'snap'
      ? { ...m, snapshot: { ...m.snapshot, data: Array.from(m.snapshot.data) } }
      : m;
const zero = { next: (): number => 0 };
const conf = (type: 'add-voter' | 'add-learner' | 'remove', node: string, index: number, term: number): Entry => ({
  index,
  term,
  type: 'conf',
  data: encodeConfChange({ type, node }),
});


t.test('codec: every message type round-trips; bad input is a RaftDecodeError', (t) => {
  const base = { from: 'n1', to: 'nœud-2', term: 2 ** 40 + 3 };
  const msgs: RaftMessage[] = [
    { ...base, type: 'pre-vote', lastIndex: 7, lastTerm: 3 },
    { ...base, type: 'vote', lastIndex: 0, lastTerm: 0 },
    { ...base, type: 'vote', lastIndex: 5, lastTerm: 2, transfer: true },
    { ...base, type: 'pre-vote-resp', reject: true },
    { ...base, type: 'vote-resp', reject: false },
    { ...base, type: 'app', prevIndex: 4, prevTerm: 2, commit: 3, entries: [e(5, 2, 'a'), e(6, 3, '')] },
    { ...base, type: 'app-resp', index: 9, reject: true, hintTerm: 2, hintIndex: 5 },
    { ...base, type: 'heartbeat', commit: Number.MAX_SAFE_INTEGER },
    { ...base, type: 'heartbeat-resp' },
    { ...base, type: 'timeout-now' },
    { ...base, type: 'app', prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 'conf', data: encodeConfChange({ type: 'add-voter', node: 'n4' }) }] },
    { ...base, type: 'snap', snapshot: { index: 9, term: 3, conf: { voters: ['n1', 'n2'], learners: ['n3'] }, data: Buffer.from('state') } },
  ];
  for (const m of msgs) {
    const back = decodeMessage(encodeMessage(m));
    t.same(plain(back), plain(m), m.type);
  }
  t.same(
    Buffer.from(encodeMessage({ type: 'heartbeat-resp', from: 'a', to: 'b', term: 2 })).toString('hex'),
    '0208000161000162' + '0000000000000002',
    'the worked example of codec.ts',
  );
  const good = encodeMessage(msgs[5]!);
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

  c = new SafetyChecker();
  c.onApply('a', conf('add-voter', 'a', 1, 1));
  c.onApply('a', conf('add-voter', 'b', 2, 1));
  t.throws(() => c.onSnapshot('b', { index: 2, term: 1, conf: { voters: ['a', 'b'], learners: [] }, data: Buffer.from('forged') }), /snapshot consistency/);
  t.throws(() => c.onState('a', 2, 'bogus', { voters: ['a', 'b'], learners: [] }), /state machine safety/, 'state differs from the applied chain');
  const good = stateHash(stateHash('', conf('add-voter', 'a', 1, 1)), conf('add-voter', 'b', 2, 1));
  c.onState('a', 2, good, { voters: ['b', 'a'], learners: [] });
  t.throws(() => c.onState('a', 2, good, { voters: ['a'], learners: [] }), /membership/, 'a configuration other than the applied log gives');

  c = new SafetyChecker();
  c.onClusterState('a', 3, 3, 2, Buffer.from('s3'));
  c.onClusterState('a', 3, 3, 2);
  t.throws(() => c.onClusterState('a', 4, 4, 1, Buffer.from('s4')), /epoch monotonicity: a's epoch went back from 2 to 1/, 'the epoch goes backwards');
  t.throws(() => c.onClusterState('b', 3, 3, 2, Buffer.from('other')), /cluster state machine safety/, 'two cluster states at one index');
  t.throws(() => c.onClusterState('b', 4, 3, 2), /cluster state: b's state machine is at 3/, 'state machine behind Raft applied');
  t.end();
});

t.test('conf change codec: worked example, round trip, bad bytes are RaftDecodeError', (t) => {
  t.equal(Buffer.from(encodeConfChange({ type: 'add-voter', node: 'n4' })).toString('hex'), '010100026e34', 'the worked example of conf-change.ts');
  for (const type of ['add-voter', 'add-learner', 'remove'] as const) t.same(decodeConfChange(encodeConfChange({ type, node: 'nœud' })), { type, node: 'nœud' });
  for (const bad of ['', '02010001 61', '01040001 61', '01010002 61', '01010000', '01010001 ff']) {
    t.throws(() => decodeConfChange(Buffer.from(bad.replace(/ /g, ''), 'hex')), RaftDecodeError, `bad: ${bad}`);
  }
  t.throws(() => encodeConfChange({ type: 'remove', node: '' }), { code: 'RAFT_BAD_CONF_CHANGE' });
  const snapBytes = Buffer.from(
    encodeMessage({ type: 'snap', from: 'a', to: 'b', term: 1, snapshot: { index: 1, term: 1, conf: { voters: ['a'], learners: [] }, data: Buffer.from('x') } }),
  );
  snapBytes.writeUInt32BE(MAX_SNAPSHOT_BYTES + 1, snapBytes.length - 5);
  t.throws(() => decodeMessage(snapBytes), /limit/, 'snapshot over 64 MiB is refused before reading it');
  const app = Buffer.from(encodeMessage({ type: 'app', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [e(1, 1, 'x')] }));
  app[app.length - 6] = 7; // the entry's kind byte
  t.throws(() => decodeMessage(app), /entry kind/);
  t.end();
});

t.test('configuration: bootstrap entries, restart from snapshot.conf plus committed conf entries only', (t) => {
  const boot = new Raft({ id: 'a', conf: { voters: ['a', 'b'], learners: ['c'] }, rng: zero });
  const rd = boot.ready();
  t.same(rd.entries.map((x) => `${x.index}/${x.term}/${x.type}`), ['1/1/conf', '2/1/conf', '3/1/conf'], 'bootstrap writes the configuration as entries');
  t.same(rd.hardState, { term: 1, vote: '', commit: 3 });
  t.same(boot.confState(), { voters: ['a', 'b'], learners: ['c'] });
  boot.advance(rd);
  const snap = { index: 10, term: 3, conf: { voters: ['a', 'b', 'c'], learners: [] }, data: Buffer.from('s') };
  const entries = [e(11, 3), conf('remove', 'b', 12, 3), conf('add-learner', 'd', 13, 4)];
  const r = new Raft({ id: 'a', conf: { voters: [], learners: [] }, rng: zero, persisted: { hardState: { term: 4, vote: 'a', commit: 12 }, snapshot: snap, entries } });
  t.same(r.confState(), { voters: ['a', 'c'], learners: [] }, 'snapshot conf + committed removal; the uncommitted add-learner is not in force');
  const s = r.status();
  t.match(s, { commit: 12, applied: 10, lastIndex: 13, snapshotIndex: 10, role: 'follower', progress: {} });
  t.same(r.ready().committedEntries.map((x) => x.index), [11, 12], 'applies from just after the snapshot');
  t.throws(() => r.compact(12, Buffer.from('x')), { code: 'RAFT_BAD_COMPACTION' }, 'not applied yet');
  t.throws(() => r.compact(9, Buffer.from('x')), { code: 'RAFT_BAD_COMPACTION' }, 'already compacted');
  t.end();
});

t.test('an uncommitted conf entry overwritten by a new leader never takes effect', (t) => {
  const r = new Raft({ id: 'b', peers: ['a', 'b', 'c'], rng: zero });
  r.step({ type: 'app', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [e(1, 1), conf('remove', 'c', 2, 1)] });
  t.same(r.confState().voters, ['a', 'b', 'c'], 'appended, not committed: not in force');
  r.step({ type: 'app', from: 'c', to: 'b', term: 2, prevIndex: 1, prevTerm: 1, commit: 3, entries: [e(2, 2), e(3, 2)] });
  t.same(r.log.all().map((x) => x.type), ['normal', 'normal', 'normal'], 'the conf entry was truncated');
  t.same(r.confState().voters, ['a', 'b', 'c']);
  r.step({ type: 'app', from: 'c', to: 'b', term: 2, prevIndex: 3, prevTerm: 2, commit: 4, entries: [conf('remove', 'a', 4, 2)] });
  t.same(r.confState().voters, ['b', 'c'], 'a committed one is');
  t.end();
});

t.test('a node outside the voter set never campaigns; a learner is never asked to vote', (t) => {
  const joining = new Raft({ id: 'd', conf: { voters: [], learners: [] }, rng: zero });
  for (let i = 0; i < 100; i++) joining.tick();
  t.equal(joining.role, 'follower');
  t.equal(joining.term, 0);
  joining.campaign();
  t.same(joining.ready().messages, [], 'campaign() is a no-op too');
  const r = new Raft({ id: 'a', conf: { voters: ['a', 'b', 'c'], learners: ['d'] }, rng: zero, config: { preVote: false } });
  r.campaign();
  t.same(r.ready().messages.map((m) => m.to), ['b', 'c']);
  r.step({ type: 'vote-resp', from: 'd', to: 'a', term: 2, reject: false });
  t.equal(r.role, 'candidate', "a learner's grant does not count");
  r.step({ type: 'vote-resp', from: 'b', to: 'a', term: 2, reject: false });
  t.equal(r.role, 'leader');
  t.same(Object.keys(r.status().progress).sort(), ['a', 'b', 'c', 'd']);
  t.equal(r.status().progress.d?.learner, true);
  t.throws(() => r.transferLeadership('d'), { code: 'RAFT_BAD_TRANSFER' });
  t.throws(() => r.proposeConfChange({ type: 'add-voter', node: 'e' }), { code: 'RAFT_CONF_CHANGE_PENDING' }, 'own no-op not committed yet');
  t.end();
});

t.test('every raft error code is documented in cluster/ERRORS.md', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../cluster/ERRORS.md', import.meta.url)), 'utf8');
  const errors = [new ConfChangePendingError('x'), new BadConfChangeError('x'), new TransferringError('b'), new BadTransferError('x'), new BadCompactionError('x')];
  for (const err of errors) t.ok(doc.includes(`| \`${err.code}\` | \`${err.name}\``), `${err.code} (${err.name}) is documented`);
  t.end();
});
