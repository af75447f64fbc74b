import t from 'tap';
import { QuorumArgumentError, UnavailableError } from '../../cluster/quorum/errors.js';
import { ReadQuorum, type ReadOutcome } from '../../cluster/quorum/read-quorum.js';
import { WriteQuorum, type QuorumDone } from '../../cluster/quorum/write-quorum.js';
import { Rng } from '../support/rng.js';

/** A version as the data path has them: an LWW timestamp, and a tombstone flag that does not affect order. */
interface Ver {
  readonly ts: number;
  readonly tombstone?: boolean;
}
const cmp = (a: Ver, b: Ver): number => a.ts - b.ts;

type Ev = { kind: 'ok'; node: string; version?: Ver } | { kind: 'fail'; node: string } | { kind: 'deadline' };

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i]!, ...p];
  }
}

/** Every assignment of answers (ok / fail / silent) to the nodes, in every order, with the deadline at every position. */
function* schedules(nodes: readonly string[]): Generator<Ev[]> {
  const choices = 3 ** nodes.length;
  for (let c = 0; c < choices; c++) {
    const answering: Ev[] = [];
    let x = c;
    for (const node of nodes) {
      const k = x % 3;
      x = Math.floor(x / 3);
      if (k === 1) answering.push({ kind: 'ok', node });
      if (k === 2) answering.push({ kind: 'fail', node });
    }
    for (const order of permutations(answering)) {
      for (let d = 0; d <= order.length; d++) yield [...order.slice(0, d), { kind: 'deadline' }, ...order.slice(d)];
    }
  }
}

function randomSchedule(rng: Rng, nodes: readonly string[], withVersions: boolean): Ev[] {
  const evs: Ev[] = [];
  for (const node of nodes) {
    const k = rng.int(3);
    if (k === 0) evs.push(withVersions && rng.chance(0.8) ? { kind: 'ok', node, version: { ts: rng.int(4), tombstone: rng.chance(0.3) } } : { kind: 'ok', node });
    if (k === 1) evs.push({ kind: 'fail', node });
    // Now and then the network repeats an answer: the first one must stand.
    if (k < 2 && rng.chance(0.2)) evs.push(rng.chance(0.5) ? { kind: 'fail', node } : { kind: 'ok', node, version: { ts: 9 } });
  }
  rng.shuffle(evs);
  evs.splice(rng.int(evs.length + 1), 0, { kind: 'deadline' });
  return evs;
}

const nodesOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

/**
 * Runs a write schedule against WriteQuorum and the model after every event: success iff W counting acks
 * arrived before the deadline, unavailable as soon as W counting acks became impossible or at the
 * deadline, decided once. Returns a description of the first disagreement, or undefined.
 */
function checkWrite(nodes: string[], w: number, hinted: Set<string>, sloppy: boolean, evs: Ev[]): string | undefined {
  const hintedFor = new Map([...hinted].map((s) => [s, `owner-of-${s}`]));
  const q = new WriteQuorum({ replicas: nodes, w, sloppy, hintedFor });
  const counts = (n: string): boolean => sloppy || !hinted.has(n);
  const countingTotal = nodes.filter(counts).length;
  let acks = 0;
  let fails = 0;
  let expected: QuorumDone = countingTotal >= w ? 'pending' : 'unavailable';
  const answered = new Set<string>();
  if (q.result.done !== expected) return `initially ${q.result.done}, expected ${expected}`;
  for (const [i, ev] of evs.entries()) {
    let got: QuorumDone;
    if (ev.kind === 'deadline') {
      got = q.deadline().done;
      if (expected === 'pending') expected = 'unavailable';
    } else {
      got = (ev.kind === 'ok' ? q.ack(ev.node) : q.fail(ev.node, new Error('boom'))).done;
      if (!answered.has(ev.node) && expected === 'pending' && counts(ev.node)) {
        if (ev.kind === 'ok') acks++;
        else fails++;
        if (acks >= w) expected = 'success';
        else if (countingTotal - fails < w) expected = 'unavailable';
      }
      answered.add(ev.node);
    }
    if (got !== expected) return `after event ${i} (${JSON.stringify(ev)}): ${got}, expected ${expected}`;
  }
  const r = q.result;
  if (r.done === 'success' && (r.acks < w || r.error !== undefined)) return `success with ${r.acks} acks of ${w}`;
  if (r.done === 'unavailable' && (r.acks >= w || !(r.error instanceof UnavailableError) || r.error.required !== w)) return 'unavailable with a wrong error';
  return undefined;
}

t.test('write quorum: every event order of up to 3 targets, every W, hinted subset and sloppiness, matches the model', (t) => {
  let runs = 0;
  const failures: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const nodes = nodesOf(n);
    for (let w = 1; w <= n + 1; w++) {
      for (let mask = 0; mask < 2 ** n; mask++) {
        const hinted = new Set(nodes.filter((_, i) => mask & (1 << i)));
        for (const sloppy of [false, true]) {
          for (const evs of schedules(nodes)) {
            runs++;
            const err = checkWrite(nodes, w, hinted, sloppy, evs);
            if (err !== undefined && failures.length < 5) failures.push(`n=${n} w=${w} hinted=${[...hinted].join()} sloppy=${sloppy}: ${err}`);
          }
        }
      }
    }
  }
  t.same(failures, [], `${runs} schedules agree with the model`);
  t.ok(runs > 10_000, `${runs} schedules`);
  t.end();
});

t.test('write quorum: random schedules of 4..9 targets, with repeated answers', (t) => {
  const rng = new Rng(7);
  const failures: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const nodes = nodesOf(4 + rng.int(6));
    const w = 1 + rng.int(nodes.length);
    const hinted = new Set(nodes.filter(() => rng.chance(0.3)));
    const sloppy = rng.chance(0.5);
    const evs = randomSchedule(rng, nodes, false);
    const err = checkWrite(nodes, w, hinted, sloppy, evs);
    if (err !== undefined && failures.length < 5) failures.push(`case ${i}: ${err}`);
  }
  t.same(failures, []);
  t.end();
});

t.test('write quorum: what the coordinator sees', (t) => {
  const q = new WriteQuorum({ replicas: ['a', 'b', 'c'], w: 2 });
  t.equal(q.ack('a').done, 'pending');
  const out = q.deadline();
  t.equal(out.done, 'unavailable');
  t.match(out.error, { code: 'CLUSTER_UNAVAILABLE', required: 2, acks: 1, replicas: 3, timedOut: true });
  t.equal(out.error?.message, '2 of 3 replicas needed, 1 acknowledged before the deadline');
  t.equal(q.ack('b').done, 'unavailable', 'an ack after the deadline changes nothing');
  t.equal(q.result.acks, 1);

  const early = new WriteQuorum({ replicas: ['a', 'b', 'c'], w: 2 });
  early.fail('a', new Error('disk full'));
  const gone = early.fail('b', new Error('refused'));
  t.equal(gone.done, 'unavailable', 'unavailable as soon as two of three failed, before any deadline');
  t.equal(gone.error?.message, '2 of 3 replicas needed, 0 acknowledged and 2 failed');
  t.same([...early.failures().keys()], ['a', 'b']);

  const strict = new WriteQuorum({ replicas: ['a', 'x'], w: 2, hintedFor: new Map([['x', 'b']]) });
  t.equal(strict.result.done, 'unavailable', 'with one owner down a strict W=2 cannot succeed: told at once');
  strict.ack('a');
  strict.ack('x');
  t.match(strict.result, { done: 'unavailable', acks: 0, hintedAcks: 0 }, 'the decision and its counts stand');
  t.same(strict.ackedNodes(), ['a', 'x'], 'late acks are still recorded');
  t.equal(strict.hintFor('x'), 'b');

  const sloppy = new WriteQuorum({ replicas: ['a', 'x'], w: 2, sloppy: true, hintedFor: new Map([['x', 'b']]) });
  sloppy.ack('x');
  t.match(sloppy.ack('a'), { done: 'success', acks: 2, hintedAcks: 1 }, 'a sloppy quorum counts the stand-in');
  t.end();
});

t.test('write quorum: bad arguments are typed errors', (t) => {
  const bad = { code: 'CLUSTER_BAD_QUORUM' };
  t.throws(() => new WriteQuorum({ replicas: ['a'], w: 0 }), bad);
  t.throws(() => new WriteQuorum({ replicas: ['a', 'a'], w: 1 }), bad);
  t.throws(() => new WriteQuorum({ replicas: ['a'], w: 1, hintedFor: new Map([['z', 'b']]) }), bad);
  t.throws(() => new WriteQuorum({ replicas: ['a'], w: 1 }).ack('z'), QuorumArgumentError);
  t.end();
});

/** Read schedules against ReadQuorum and the model, repair plans included. */
function checkRead(nodes: string[], r: number, evs: Ev[]): string | undefined {
  const q = new ReadQuorum<Ver>({ replicas: nodes, r, compare: cmp });
  const answers = new Map<string, Ev>();
  let deadline = false;
  let expected: QuorumDone = nodes.length >= r ? 'pending' : 'unavailable';
  let successNewest: Ver | undefined;
  for (const [i, ev] of evs.entries()) {
    let out: ReadOutcome<Ver>;
    if (ev.kind === 'deadline') {
      out = q.deadline();
      deadline = true;
    } else {
      out = ev.kind === 'ok' ? q.response(ev.node, ev.version) : q.fail(ev.node);
      if (!deadline && !answers.has(ev.node)) answers.set(ev.node, ev);
    }
    const oks = [...answers.values()].filter((a) => a.kind === 'ok');
    const fails = answers.size - oks.length;
    if (expected === 'pending') {
      if (oks.length >= r) expected = 'success';
      else if (deadline || nodes.length - fails < r) expected = 'unavailable';
    }
    if (out.done !== expected) return `after event ${i}: ${out.done}, expected ${expected}`;
    const versions = oks.flatMap((a) => (a.kind === 'ok' && a.version !== undefined ? [a.version] : []));
    const newest = versions.reduce<Ver | undefined>((m, v) => (m === undefined || v.ts > m.ts ? v : m), undefined);
    if (out.newest?.ts !== newest?.ts) return `after event ${i}: newest ${JSON.stringify(out.newest)}, expected ${JSON.stringify(newest)}`;
    if (expected === 'success' && successNewest === undefined) successNewest = newest ?? { ts: -1 };
    const plan = q.repairPlan();
    const stale = oks.filter((a) => a.kind === 'ok' && newest !== undefined && (a.version === undefined || a.version.ts < newest.ts)).map((a) => a.node);
    if (JSON.stringify([...plan.nodes].sort()) !== JSON.stringify(stale.sort())) return `after event ${i}: plan ${plan.nodes.join()}, expected ${stale.join()}`;
    if (plan.complete !== (deadline || answers.size === nodes.length)) return `after event ${i}: complete=${plan.complete}`;
    if (plan.nodes.some((n) => answers.get(n)?.kind !== 'ok')) return 'a node that did not answer is in the plan';
    if (out.respondedNodes.length !== oks.length) return `responded ${out.respondedNodes.join()}`;
  }
  return undefined;
}

t.test('read quorum: every event order of up to 3 replicas and every R, with random versions, matches the model', (t) => {
  const rng = new Rng(11);
  let runs = 0;
  const failures: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const nodes = nodesOf(n);
    for (let r = 1; r <= n + 1; r++) {
      for (const evs of schedules(nodes)) {
        // The same order with versions drawn at random (none, older, same, newer, tombstones).
        for (let k = 0; k < 3; k++) {
          const withVersions = evs.map((e): Ev => (e.kind === 'ok' && rng.chance(0.8) ? { ...e, version: { ts: rng.int(3), tombstone: rng.chance(0.3) } } : e));
          runs++;
          const err = checkRead(nodes, r, withVersions);
          if (err !== undefined && failures.length < 5) failures.push(`n=${n} r=${r} ${JSON.stringify(withVersions)}: ${err}`);
        }
      }
    }
  }
  t.same(failures, [], `${runs} schedules agree with the model`);
  t.end();
});

t.test('read quorum: random schedules of 4..9 replicas, with repeated answers', (t) => {
  const rng = new Rng(13);
  const failures: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const nodes = nodesOf(4 + rng.int(6));
    const r = 1 + rng.int(nodes.length);
    const err = checkRead(nodes, r, randomSchedule(rng, nodes, true));
    if (err !== undefined && failures.length < 5) failures.push(`case ${i}: ${err}`);
  }
  t.same(failures, []);
  t.end();
});

t.test('read repair: stale and empty replicas get the newest version, silent ones do not', (t) => {
  const q = new ReadQuorum<Ver>({ replicas: ['a', 'b', 'c'], r: 2, compare: cmp });
  q.response('a', { ts: 5 });
  const out = q.response('b', undefined);
  t.match(out, { done: 'success', newest: { ts: 5 }, respondedNodes: ['a', 'b'] });
  t.same(q.repairPlan(), { version: { ts: 5 }, nodes: ['b'], complete: false }, 'c may still answer');
  q.response('c', { ts: 7 });
  t.same(q.repairPlan(), { version: { ts: 7 }, nodes: ['a', 'b'], complete: true }, 'a late, newer answer becomes the version to send');

  const timeout = new ReadQuorum<Ver>({ replicas: ['a', 'b', 'c'], r: 2, compare: cmp });
  timeout.response('a', { ts: 3 });
  timeout.fail('b', new Error('io'));
  const gone = timeout.deadline();
  t.equal(gone.done, 'unavailable');
  t.equal(gone.error?.message, '2 of 3 replicas needed, 1 answered before the deadline');
  t.match(gone.error, { code: 'CLUSTER_UNAVAILABLE', kind: 'read', required: 2, responses: 1, replicas: 3 });
  t.same(timeout.repairPlan(), { version: { ts: 3 }, nodes: [], complete: true }, 'neither the failed nor the silent replica is repaired');
  timeout.response('c', undefined);
  t.same(timeout.repairPlan().nodes, [], 'answers after the deadline are ignored');
  t.end();
});

t.test('read repair: a tombstone is the newest version and is propagated; equal versions are not repaired', (t) => {
  const q = new ReadQuorum<Ver>({ replicas: ['a', 'b', 'c'], r: 3, compare: cmp });
  q.response('a', { ts: 9, tombstone: true });
  q.response('b', { ts: 4 });
  const out = q.response('c', { ts: 9, tombstone: true });
  t.match(out, { done: 'success', newest: { ts: 9, tombstone: true } }, 'the read returns the tombstone: not found');
  t.same(q.repairPlan(), { version: { ts: 9, tombstone: true }, nodes: ['b'], complete: true });

  const none = new ReadQuorum<Ver>({ replicas: ['a', 'b'], r: 1, compare: cmp });
  none.response('a', undefined);
  none.response('b', undefined);
  t.same(none.repairPlan(), { version: undefined, nodes: [], complete: true }, 'nothing anywhere: nothing to repair');
  t.throws(() => none.response('z', undefined), { code: 'CLUSTER_BAD_QUORUM' });
  t.throws(() => new ReadQuorum<Ver>({ replicas: ['a'], r: 0, compare: cmp }), { code: 'CLUSTER_BAD_QUORUM' });
  t.end();
});
