/**
 * What crosses to the background thread: a memtable's image rebuilds a memtable with the same entries
 * (forward, backward, seeks, and further inserts), and errors come back as the same typed errors.
 */
import t from 'tap';
import { fromWireError, toWireError } from '../../lsm/background-messages.js';
import { InternalKeyComparator, KIND_DELETION, KIND_VALUE } from '../../lsm/dbformat.js';
import { ClosedError, CorruptionError, IOError } from '../../lsm/errors.js';
import { Memtable } from '../../lsm/memtable.js';
import { Rng } from './rng.js';

function entries(m: Memtable): string[] {
  const out: string[] = [];
  const it = m.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) out.push(`${Buffer.from(it.key()).toString('hex')}=${Buffer.from(it.value()).toString('hex')}`);
  return out;
}

t.test("a memtable's image copied into an earlier image's arena rebuilds the same memtable", (t) => {
  const rng = new Rng(4);
  const icmp = new InternalKeyComparator();
  const fill = (n: number): Memtable => {
    const m = new Memtable(icmp);
    for (let i = 0; i < n; i++) m.add(i + 1, KIND_VALUE, Buffer.from(`key${rng.int(50_000)}`), rng.bytes(rng.int(300)));
    return m;
  };
  const earlier = fill(20_000).exportImage();
  const m = fill(15_000);
  const image = m.exportImage(earlier.arena);
  t.equal(image.arena, earlier.arena, 'the earlier arena is reused (it has room: a new one gets a chunk to spare)');
  const copy = Memtable.fromImage(structuredClone(image, { transfer: [image.arena, image.nodes.buffer] }), icmp);
  t.same(entries(copy), entries(m), 'same entries: the earlier bytes past the copy are ignored');
  t.not(fill(10).exportImage(new ArrayBuffer(16)).arena.byteLength, 16, 'an arena too small is not used');
  t.end();
});

t.test('a memtable rebuilt from its image holds the same entries and keeps working', (t) => {
  const rng = new Rng(3);
  const icmp = new InternalKeyComparator();
  const m = new Memtable(icmp);
  let seq = 1;
  for (let i = 0; i < 20000; i++) {
    const k = Buffer.from(`key${rng.int(5000)}`);
    if (rng.chance(0.1)) m.add(seq++, KIND_DELETION, k, Buffer.alloc(0));
    else m.add(seq++, KIND_VALUE, k, i % 1000 === 0 ? rng.bytes(400_000) : rng.bytes(rng.int(200))); // some get chunks of their own
  }
  const image = m.exportImage();
  const copy = Memtable.fromImage(structuredClone(image, { transfer: [image.arena, image.nodes.buffer] }), icmp);
  t.equal(copy.count, m.count, 'same count');
  t.same(entries(copy), entries(m), 'same entries in the same order');

  const a = m.iterator();
  const b = copy.iterator();
  a.seekToLast();
  b.seekToLast();
  const wrong: string[] = [];
  for (let steps = 0; a.valid() && steps < 500; a.prev(), b.prev(), steps++) {
    if (!b.valid() || Buffer.compare(b.key(), a.key()) !== 0) wrong.push(`prev step ${steps}`);
  }
  for (let i = 0; i < 500; i++) {
    const k = Buffer.from(`key${rng.int(5000)}`);
    a.seek(k);
    b.seek(k);
    if (a.valid() !== b.valid() || (a.valid() && Buffer.compare(a.key(), b.key()) !== 0)) wrong.push(`seek ${k.toString()}`);
    const [x, y] = [m.get(k, seq), copy.get(k, seq)];
    if (x?.kind !== y?.kind || (x?.kind === 'value' && y?.kind === 'value' && !x.value.equals(y.value))) wrong.push(`get ${k.toString()}`);
  }
  t.same(wrong, [], 'backward iteration, seeks and gets agree');

  // The rebuilt list is a full list: inserts land in order (its tails were recomputed).
  for (let i = 0; i < 3000; i++) {
    const k = Buffer.from(`key${rng.int(6000)}`);
    const v = rng.bytes(30);
    m.add(seq, KIND_VALUE, k, v);
    copy.add(seq++, KIND_VALUE, k, v);
  }
  m.add(seq, KIND_VALUE, Buffer.from('zzzz-last'), Buffer.from('v'));
  copy.add(seq, KIND_VALUE, Buffer.from('zzzz-last'), Buffer.from('v'));
  t.same(entries(copy), entries(m), 'the same after more inserts, appends at the end included');
  t.end();
});

t.test('errors come back as the same typed errors', (t) => {
  const corrupt = new CorruptionError('bad block checksum', '/db/000012.sst', 4096);
  const back = fromWireError(structuredClone(toWireError(corrupt)));
  t.ok(back instanceof CorruptionError, 'CorruptionError');
  t.equal(back.message, corrupt.message, 'same message');
  t.equal((back as CorruptionError).file, '/db/000012.sst');
  t.equal((back as CorruptionError).offset, 4096);
  t.match(back.stack, /in the background thread/, 'the stack says where it happened');

  const io = fromWireError(structuredClone(toWireError(new IOError('write /db/000013.sst: ENOSPC'))));
  t.ok(io instanceof IOError, 'IOError');
  t.equal((io as IOError).code, 'LSM_IO');
  t.equal(io.message, 'write /db/000013.sst: ENOSPC');
  t.ok(fromWireError(toWireError(new ClosedError('closed'))) instanceof ClosedError, 'ClosedError');

  const plain = fromWireError(structuredClone(toWireError(new TypeError('x is not a function'))));
  t.equal(plain.name, 'TypeError');
  t.equal(plain.message, 'x is not a function');
  t.end();
});
