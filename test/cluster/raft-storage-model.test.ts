/**
 * Random operation sequences against a model of the Raft log, with clean reopens and crashes (also in the
 * middle of a write) on the in-memory file system: the stored state always equals the model, a write
 * persist() resolved is never lost, and a write cut by a crash is all or nothing.
 */
import t from 'tap';
import { MemFileSystem } from '../../lsm/index.js';
import { RaftStorage } from '../../cluster/raft/storage.js';
import type { Entry, HardState, PersistedState, Snapshot } from '../../cluster/raft/types.js';
import { Rng } from '../support/rng.js';

const DIR = '/raft';

interface Model {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

type Op = { kind: 'persist'; rd: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot } } | { kind: 'compact'; snapshot: Snapshot };

const first = (m: Model): number => (m.snapshot?.index ?? 0) + 1;
const last = (m: Model): number => first(m) + m.entries.length - 1;
const termAt = (m: Model, i: number): number | undefined => (i === first(m) - 1 ? (m.snapshot?.term ?? 0) : m.entries[i - first(m)]?.term);

/** What the storage should hold after `op` (the same rules as STORAGE.md, written the simple way). */
function applyModel(m: Model, op: Op): Model {
  let { snapshot, entries } = m;
  const snapIn = op.kind === 'persist' ? op.rd.snapshot : op.snapshot;
  if (snapIn !== undefined && snapIn.index > (snapshot?.index ?? 0)) {
    const keep = termAt(m, snapIn.index) === snapIn.term && snapIn.index <= last(m);
    entries = keep ? entries.filter((e) => e.index > snapIn.index) : [];
    snapshot = snapIn;
  }
  const next: Model = { hardState: m.hardState, snapshot, entries };
  if (op.kind === 'compact') return next;
  const fresh = op.rd.entries.filter((e) => e.index > (snapshot?.index ?? 0));
  if (fresh.length > 0) next.entries = [...entries.filter((e) => e.index < fresh[0]!.index), ...fresh];
  if (op.rd.hardState) next.hardState = op.rd.hardState;
  return next;
}

function asState(m: Model): PersistedState {
  return m.snapshot ? { hardState: m.hardState, snapshot: m.snapshot, entries: m.entries } : { hardState: m.hardState, entries: m.entries };
}

/** A random operation a Raft node could really ask for: never truncating or compacting past the commit. */
function randomOp(rng: Rng, m: Model, term: { now: number }): Op {
  if (rng.chance(0.15)) term.now++;
  const commit = m.hardState.commit;
  const r = rng.int(10);
  if (r < 6) {
    const lo = Math.max(first(m) - (rng.chance(0.1) ? 2 : 0), commit + 1, 1);
    const start = lo + rng.int(Math.max(1, last(m) + 2 - lo));
    const n = rng.int(6);
    const entries: Entry[] = Array.from({ length: n }, (_, k) => ({
      index: start + k,
      term: term.now,
      type: rng.chance(0.1) ? 'conf' : 'normal',
      data: rng.bytes(rng.int(20)),
    }));
    const newLast = n > 0 ? Math.max(start + n - 1, first(m) - 1) : last(m);
    const hs = rng.chance(0.7) ? { term: term.now, vote: rng.chance(0.5) ? `n${rng.int(5)}` : '', commit: Math.min(newLast, commit + rng.int(4)) } : undefined;
    return { kind: 'persist', rd: hs ? { hardState: hs, entries } : { entries } };
  }
  if (r < 8 && commit >= first(m)) {
    const index = first(m) + rng.int(commit - first(m) + 1);
    return { kind: 'compact', snapshot: { index, term: termAt(m, index)!, conf: { voters: ['n1'], learners: [] }, data: rng.bytes(8) } };
  }
  // A leader's snapshot beyond our commit, agreeing with our log or not.
  const index = commit + 1 + rng.int(last(m) - commit + 3);
  const agree = rng.chance(0.5) && termAt(m, index) !== undefined;
  const snapTerm = agree ? termAt(m, index)! : ++term.now;
  const snapshot: Snapshot = { index, term: snapTerm, conf: { voters: ['n1', 'n2'], learners: ['n3'] }, data: rng.bytes(16) };
  return { kind: 'persist', rd: { snapshot, hardState: { term: term.now, vote: '', commit: index }, entries: [] } };
}

const run = (s: RaftStorage, op: Op): Promise<void> => (op.kind === 'persist' ? s.persist(op.rd) : s.compact(op.snapshot));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A canonical form, so key order and Buffer-vs-Uint8Array never decide equality. */
function canon(p: PersistedState): string {
  const { hardState: h, snapshot: s } = p;
  return JSON.stringify({
    hardState: [h.term, h.vote, h.commit],
    snapshot: s ? [s.index, s.term, s.conf.voters, s.conf.learners, hex(s.data)] : null,
    entries: p.entries.map((e) => [e.index, e.term, e.type, hex(e.data)]),
  });
}
const same = (a: PersistedState, b: PersistedState): boolean => canon(a) === canon(b);

t.test('random operations, reopens and crashes always match the model', async (t) => {
  const stats = { ops: 0, reopens: 0, crashes: 0, tornKept: 0, tornLost: 0, refused: 0 };
  for (let seed = 1; seed <= 25; seed++) {
    const rng = new Rng(seed);
    const fs = new MemFileSystem();
    let s = await RaftStorage.open(DIR, { fs });
    let model: Model = { hardState: { term: 0, vote: '', commit: 0 }, entries: [] };
    const term = { now: 1 };
    for (let step = 0; step < 80; step++) {
      const r = rng.int(100);
      if (r < 5) {
        await s.close();
        s = await RaftStorage.open(DIR, { fs });
        stats.reopens++;
      } else if (r < 8) {
        // Crash in the middle of a write: before it starts, while it is queued, or after it is synced.
        const op = randomOp(rng, model, term);
        const after = applyModel(model, op);
        let resolved = false;
        const p = run(s, op).then(() => (resolved = true), () => undefined);
        for (let k = rng.int(6); k > 0; k--) await new Promise<void>((res) => setImmediate(res));
        fs.crash();
        await p;
        s = await RaftStorage.open(DIR, { fs });
        const got = s.load();
        stats.crashes++;
        if (same(got, asState(after))) {
          model = after;
          stats.tornKept++;
        } else {
          t.notOk(resolved, `seed ${seed} step ${step}: a write that resolved was lost`);
          if (!same(got, asState(model))) {
            t.fail(`seed ${seed} step ${step}: after a crash the store is neither before nor after the write`);
            return;
          }
          stats.tornLost++;
        }
      } else if (r < 11) {
        // A write that would leave a gap: refused, nothing changes.
        await t.rejects(s.persist({ entries: [{ index: last(model) + 2, term: term.now, type: 'normal', data: new Uint8Array(0) }] }), {
          code: 'RAFT_STORAGE_BAD_WRITE',
        });
        stats.refused++;
      } else {
        const op = randomOp(rng, model, term);
        await run(s, op);
        model = applyModel(model, op);
        stats.ops++;
      }
      if (!same(s.load(), asState(model))) {
        t.equal(canon(s.load()), canon(asState(model)), `seed ${seed} step ${step}: storage and model differ`);
        return;
      }
    }
    fs.crash();
    const final = await RaftStorage.open(DIR, { fs });
    t.ok(same(final.load(), asState(model)), `seed ${seed}: a final crash keeps everything (${model.entries.length} entries, snapshot at ${model.snapshot?.index ?? 0})`);
    await final.close();
  }
  t.comment(JSON.stringify(stats));
  t.ok(stats.tornKept > 0 && stats.tornLost > 0, 'crashes hit both before and after a write was synced');
  t.ok(stats.ops > 1200, 'enough operations ran');
});
