import t from 'tap';
import {
  InternalKeyComparator,
  KIND_DELETION,
  KIND_VALUE,
  makeInternalKey,
  makeLookupKey,
  MAX_SEQUENCE,
  parseInternalKey,
  type ValueKind,
} from '../../lsm/dbformat.js';
import { InvalidArgumentError } from '../../lsm/errors.js';
import { Memtable } from '../../lsm/memtable.js';
import { SkipList, xorshiftRandom } from '../../lsm/skiplist.js';
import { Rng } from './rng.js';

const b = (s: string): Buffer => Buffer.from(s);

interface Entry {
  ikey: Buffer;
  key: Buffer;
  seq: number;
  kind: ValueKind;
  value: Buffer;
}

/** The sorted model: every version of every key, in internal-key order. */
class Model {
  entries: Entry[] = [];
  private readonly cmp = new InternalKeyComparator();

  add(seq: number, kind: ValueKind, key: Buffer, value: Buffer): void {
    this.entries.push({ ikey: makeInternalKey(key, seq, kind), key, seq, kind, value: kind === KIND_VALUE ? value : Buffer.alloc(0) });
  }

  sorted(): Entry[] {
    return this.entries.sort((x, y) => this.cmp.compare(x.ikey, y.ikey));
  }

  get(key: Buffer, snap: number): string | undefined {
    let best: Entry | undefined;
    for (const e of this.entries) if (e.key.equals(key) && e.seq <= snap && (!best || e.seq > best.seq)) best = e;
    if (!best) return undefined;
    return best.kind === KIND_DELETION ? 'deleted' : `value:${best.value.toString('hex')}`;
  }
}

function show(r: ReturnType<Memtable['get']>): string | undefined {
  return r === undefined ? undefined : r.kind === 'deleted' ? 'deleted' : `value:${r.value.toString('hex')}`;
}

t.test('get sees the newest version at or below the snapshot', (t) => {
  const m = new Memtable();
  m.add(1, KIND_VALUE, b('k'), b('v1'));
  m.add(2, KIND_VALUE, b('k'), b('v2'));
  m.add(3, KIND_DELETION, b('k'), b(''));
  m.add(4, KIND_VALUE, b('k'), b('v4'));
  m.add(5, KIND_VALUE, b('k0'), b('other'));
  t.same(show(m.get(b('k'))), `value:${b('v4').toString('hex')}`);
  t.same(show(m.get(b('k'), 3)), 'deleted');
  t.same(show(m.get(b('k'), 2)), `value:${b('v2').toString('hex')}`);
  t.same(show(m.get(b('k'), 1)), `value:${b('v1').toString('hex')}`);
  t.equal(m.get(b('k'), 0), undefined, 'nothing before the first write');
  t.equal(m.get(b('j')), undefined, 'absent key');
  t.equal(m.get(b('k00')), undefined, 'a longer key is another key');
  t.equal(m.get(b('')), undefined);
  t.equal(m.count, 5);
  t.end();
});

t.test('the memtable copies what it is given (callers may reuse their buffers)', (t) => {
  const m = new Memtable();
  const socket = Buffer.from('xxkeyvaluexx');
  m.add(1, KIND_VALUE, socket.subarray(2, 5), socket.subarray(5, 10));
  socket.fill(0);
  t.equal(show(m.get(b('key'))), `value:${b('value').toString('hex')}`);
  t.end();
});

t.test('bad sequence numbers are refused', (t) => {
  const m = new Memtable();
  t.throws(() => m.add(-1, KIND_VALUE, b('k'), b('v')), InvalidArgumentError);
  t.throws(() => m.add(MAX_SEQUENCE + 1, KIND_VALUE, b('k'), b('v')), InvalidArgumentError);
  t.equal(m.count, 0);
  t.end();
});

t.test('random operations agree with a sorted model (gets, snapshots, iteration, seeks)', (t) => {
  for (const seed of [11, 12, 13]) {
    const rng = new Rng(seed);
    const m = new Memtable(new InternalKeyComparator(), { random: xorshiftRandom(seed) });
    const model = new Model();
    const keys = Array.from({ length: 300 }, () => rng.bytes(rng.int(3) === 0 ? rng.int(80) : 1 + rng.int(6)));
    let seq = 0;
    let mismatches = 0;
    for (let op = 0; op < 5000; op++) {
      const key = keys[rng.int(keys.length)]!;
      const r = rng.int(10);
      if (r < 5) {
        const v = rng.bytes(rng.int(rng.int(20) === 0 ? 3000 : 40));
        m.add(++seq, KIND_VALUE, key, v);
        model.add(seq, KIND_VALUE, key, v);
      } else if (r < 7) {
        m.add(++seq, KIND_DELETION, key, Buffer.alloc(0));
        model.add(seq, KIND_DELETION, key, Buffer.alloc(0));
      } else {
        const snap = rng.int(3) === 0 ? rng.int(seq + 1) : MAX_SEQUENCE;
        if (show(m.get(key, snap)) !== model.get(key, snap)) mismatches++;
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: every get matched the model`);
    t.equal(m.count, model.entries.length);

    const sorted = model.sorted();
    const it = m.iterator();
    const forward: string[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) forward.push(`${Buffer.from(it.key()).toString('hex')}=${Buffer.from(it.value()).toString('hex')}`);
    t.same(forward, sorted.map((e) => `${e.ikey.toString('hex')}=${e.value.toString('hex')}`), `seed ${seed}: forward scan`);
    const backward: string[] = [];
    for (it.seekToLast(); it.valid(); it.prev()) backward.push(Buffer.from(it.key()).toString('hex'));
    t.same(backward, sorted.map((e) => e.ikey.toString('hex')).reverse(), `seed ${seed}: backward scan`);

    const cmp = new InternalKeyComparator();
    let seekMismatches = 0;
    for (let i = 0; i < 500; i++) {
      const target = makeLookupKey(rng.int(4) === 0 ? rng.bytes(rng.int(5)) : keys[rng.int(keys.length)]!, rng.int(seq + 2));
      let idx = sorted.findIndex((e) => cmp.compare(e.ikey, target) >= 0);
      it.seek(target);
      if (idx < 0) {
        if (it.valid()) seekMismatches++;
        continue;
      }
      // Walk a few steps either way from the seek position.
      for (let step = 0; step < 4; step++) {
        if (!it.valid() || !Buffer.from(it.key()).equals(sorted[idx]!.ikey)) {
          seekMismatches++;
          break;
        }
        if (rng.int(2) === 0) {
          it.next();
          idx++;
        } else {
          it.prev();
          idx--;
        }
        if (idx < 0 || idx >= sorted.length) {
          if (it.valid()) seekMismatches++;
          break;
        }
      }
    }
    t.equal(seekMismatches, 0, `seed ${seed}: seek/next/prev agree with the model`);
  }
  t.end();
});

t.test('an iterator keeps working while entries are added', (t) => {
  const m = new Memtable();
  for (let i = 0; i < 100; i += 2) m.add(i + 1, KIND_VALUE, b(String(i).padStart(3, '0')), b('v'));
  const it = m.iterator();
  it.seekToFirst();
  const seen: string[] = [];
  while (it.valid()) {
    const u = parseInternalKey(it.key()).userKey;
    seen.push(Buffer.from(u).toString());
    const n = Number(Buffer.from(u).toString());
    if (n % 2 === 0 && n < 99) m.add(1000 + n, KIND_VALUE, b(String(n + 1).padStart(3, '0')), b('w'));
    it.next();
  }
  t.equal(seen.length, 100, 'entries inserted just ahead of the position are seen');
  t.same(seen, [...seen].sort());
  t.end();
});

t.test('memory usage grows with the data and counts large values', (t) => {
  const m = new Memtable();
  const empty = m.approximateMemoryUsage();
  for (let i = 0; i < 10_000; i++) m.add(i + 1, KIND_VALUE, b(`key${i}`), Buffer.alloc(100));
  const used = m.approximateMemoryUsage();
  t.ok(used >= 10_000 * (100 + 8 + 7), `at least the bytes stored (${used})`);
  t.ok(used < 10_000 * 400 + empty + (2 << 20), `not wildly more (${used})`);
  m.add(20_000, KIND_VALUE, b('big'), Buffer.alloc(3 << 20, 7));
  t.ok(m.approximateMemoryUsage() >= used + (3 << 20), 'a 3 MiB value is counted');
  const r = m.get(b('big'));
  t.ok(r?.kind === 'value' && r.value.length === 3 << 20 && r.value[12345] === 7);
  t.ok(m.get(b('key9999'))?.kind === 'value', 'small entries after a large one are intact');
  t.end();
});

t.test('the skiplist takes node heights from the injected source; order does not depend on it', (t) => {
  const cmp = new InternalKeyComparator();
  const scan = (random: () => number): string[] => {
    const s = new SkipList(cmp, random);
    for (let i = 0; i < 1000; i++) {
      const k = makeInternalKey(b(`k${(i * 7919) % 1000}`), i, KIND_VALUE);
      s.insert(k, k.length, b(''));
    }
    const out: string[] = [];
    for (let n = s.first(); n !== 0; n = s.next(n)) out.push(s.key(n).toString('hex'));
    return out;
  };
  let calls = 0;
  const counting = xorshiftRandom(5);
  const flat = scan(() => 0.99); // every node of height 1: a plain linked list
  const tall = scan(() => 0); // every node of maximal height
  const seeded = scan(() => {
    calls++;
    return counting();
  });
  t.ok(calls >= 1000, 'the injected source was consulted');
  t.same(flat, seeded);
  t.same(tall, seeded);
  t.equal(seeded.length, 1000);
  t.end();
});

t.test('the skiplist refuses duplicate keys', (t) => {
  const s = new SkipList(new InternalKeyComparator());
  const k = makeInternalKey(b('x'), 1, KIND_VALUE);
  s.insert(k, k.length, b('a'));
  t.throws(() => s.insert(k, k.length, b('b')), /duplicate/);
  t.equal(s.value(s.seekGE(k)).toString(), 'a');
  t.end();
});
