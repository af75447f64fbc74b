import t from 'tap';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE } from '../../lsm/dbformat.js';
import { Memtable } from '../../lsm/memtable.js';
import { MemtableFilter } from '../../lsm/memtable-filter.js';
import { Rng } from './rng.js';

const key = (i: number): Buffer => Buffer.from(String(i).padStart(16, '0'), 'latin1');

t.test('the filter never forgets a key, and rules out nearly every absent key at ~16 bits per key', (t) => {
  const f = new MemtableFilter(64 << 10); // 524,288 bits
  for (let i = 0; i < 64_000; i += 2) f.add(key(i), 0, 16); // 32,000 keys
  let missed = 0;
  for (let i = 0; i < 64_000; i += 2) if (!f.mayContain(key(i), 0, 16)) missed++;
  t.equal(missed, 0, 'no false negatives');
  let falsePositives = 0;
  for (let i = 1; i < 64_000; i += 2) if (f.mayContain(key(i), 0, 16)) falsePositives++;
  t.ok(falsePositives < 320, `${falsePositives} false positives in 32,000 absent keys (< 1%)`);
  // A range of a larger buffer is the same key as a copy of it.
  const framed = Buffer.concat([Buffer.from('xx'), key(10), Buffer.from('yy')]);
  t.ok(f.mayContain(framed, 2, 18));
  t.end();
});

t.test('memtables with a tiny, a default and no filter answer every get alike (add and addFrom)', (t) => {
  const icmp = new InternalKeyComparator();
  const tables = [new Memtable(icmp, { filterBytes: 1 }), new Memtable(icmp), new Memtable(icmp, { filterBytes: 0 })];
  const rng = new Rng(5);
  const keys = Array.from({ length: 400 }, () => rng.bytes(1 + rng.int(24)));
  let seq = 0;
  for (let op = 0; op < 3000; op++) {
    const k = keys[rng.int(keys.length)]!;
    const kind = rng.int(4) === 0 ? KIND_DELETION : KIND_VALUE;
    const v = rng.bytes(rng.int(30));
    seq++;
    if (rng.int(2) === 0) {
      for (const m of tables) m.add(seq, kind, k, v);
    } else {
      const buf = Buffer.concat([Buffer.from('pre'), k, v]);
      for (const m of tables) m.addFrom(seq, kind, buf, 3, 3 + k.length, 3 + k.length, buf.length);
    }
  }
  const show = (m: Memtable, k: Buffer): string => {
    const r = m.get(k);
    return r === undefined ? 'absent' : r.kind === 'deleted' ? 'deleted' : r.value.toString('hex');
  };
  let differ = 0;
  let present = 0;
  for (const k of [...keys, ...Array.from({ length: 400 }, () => rng.bytes(1 + rng.int(24)))]) {
    const answers = tables.map((m) => show(m, k));
    if (new Set(answers).size !== 1) differ++;
    if (answers[2] !== 'absent') present++;
  }
  t.equal(differ, 0, 'every get agrees with the filterless memtable');
  t.ok(present > 300, `${present} keys present (the test reads real entries)`);
  t.end();
});
