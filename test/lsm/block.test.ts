import t from 'tap';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { CorruptionError } from '../../lsm/errors.js';
import { Block } from '../../lsm/table/block.js';
import { BlockBuilder } from '../../lsm/table/block-builder.js';
import { type Entry, iteratorSuite, Rng } from './iterator-suite.js';

function buildBlock(entries: readonly Entry[], restartInterval: number): Block {
  const b = new BlockBuilder(restartInterval);
  for (const e of entries) b.add(e.key, e.value);
  return new Block(Buffer.from(b.finish()), 'test.block', 0);
}

for (const interval of [1, 2, 16, 1000]) {
  iteratorSuite(t, `block (restart interval ${interval})`, (entries) =>
    buildBlock(entries, interval).iterator(bytewiseComparator),
  );
}

// A comparator without compareRange takes the view-based path of seek().
const plainBytewise = { name: 'plain', compare: (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) };
iteratorSuite(
  t,
  'block with a comparator lacking compareRange',
  (entries) => buildBlock(entries, 16).iterator(plainBytewise),
  plainBytewise,
);

t.test('the documented example block, byte by byte', (t) => {
  const b = new BlockBuilder(2);
  b.add(Buffer.from('apple'), Buffer.from('1'));
  b.add(Buffer.from('apply'), Buffer.from('2'));
  b.add(Buffer.from('b'), Buffer.from('3'));
  const bytes = Buffer.from(b.finish());
  t.equal(
    bytes.toString('hex'),
    '0005016170706c6531' + '040101793' + '2' + '0001016233' + '00000000' + '0e000000' + '02000000',
  );
  t.equal(b.currentSizeEstimate(), bytes.length);
  t.equal(new BlockBuilder().finish().toString('hex'), '0000000001000000', 'an empty block');
  t.end();
});

t.test('a builder reused after reset() starts the new block from scratch', (t) => {
  const b = new BlockBuilder(16);
  b.add(Buffer.from('prefix-a'), Buffer.from('1'));
  b.finish();
  t.equal(b.lastKey().toString(), 'prefix-a');
  b.reset();
  t.ok(b.empty());
  t.equal(b.lastKey().toString(), 'prefix-a', 'last key survives reset (the table builder needs it)');
  b.add(Buffer.from('prefix-b'), Buffer.from('2'));
  const block = new Block(Buffer.from(b.finish()));
  const it = block.iterator(bytewiseComparator);
  it.seekToFirst();
  t.equal(it.key().toString(), 'prefix-b');
  t.equal(block.data[0], 0, 'first entry of the new block shares nothing');
  t.end();
});

t.test('malformed blocks raise CorruptionError with file and offset', (t) => {
  const good = buildBlock(
    Array.from({ length: 40 }, (_, i) => ({ key: Buffer.from(`key${String(i).padStart(3, '0')}`), value: Buffer.from('v') })),
    4,
  ).data;
  const withRestarts = (mutate: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    mutate(b);
    return b;
  };
  const n = good.readUInt32LE(good.length - 4);
  const restartsAt = good.length - 4 - 4 * n;
  const cases: [string, Buffer][] = [
    ['too short', Buffer.from([1, 0])],
    ['zero restarts', withRestarts((b) => b.writeUInt32LE(0, b.length - 4))],
    ['restart count larger than the block', withRestarts((b) => b.writeUInt32LE(1e6, b.length - 4))],
    ['first restart not 0', withRestarts((b) => b.writeUInt32LE(3, restartsAt))],
    ['restart points not increasing', withRestarts((b) => b.writeUInt32LE(0, restartsAt + 8))],
    ['restart point past the entries', withRestarts((b) => b.writeUInt32LE(restartsAt + 1, restartsAt + 4 * (n - 1)))],
  ];
  for (const [what, bytes] of cases) {
    t.throws(() => new Block(bytes, 'f.sst', 1000), CorruptionError, what);
  }
  try {
    new Block(Buffer.from([1, 0]), 'f.sst', 1000);
  } catch (e) {
    t.equal((e as CorruptionError).file, 'f.sst');
    t.equal((e as CorruptionError).offset, 1000);
    t.equal((e as CorruptionError).code, 'LSM_CORRUPTION');
  }
  // An entry whose value length runs into the restart array.
  const overrun = withRestarts((b) => (b[2] = 0xff)); // value length becomes a 2-byte varint of ~14 KB
  const it = new Block(overrun, 'f.sst', 1000).iterator(bytewiseComparator);
  t.throws(() => it.seekToFirst(), CorruptionError, 'entry overrunning the entry region');
  // An entry claiming to share more than the previous key has.
  const sharing = withRestarts((b) => (b[0] = 5));
  t.throws(() => new Block(sharing).iterator(bytewiseComparator).seekToFirst(), CorruptionError, 'shared > previous key');
  t.end();
});

t.test('random damage never reads out of bounds, loops, or throws anything but CorruptionError', (t) => {
  const rng = new Rng(7);
  const entries: Entry[] = [];
  for (let i = 0; i < 200; i++) entries.push({ key: Buffer.from(`k${String(i * 7).padStart(5, '0')}`), value: rng.bytes(rng.int(30)) });
  const good = buildBlock(entries, 8).data;
  let corruptions = 0;
  let other = 0;
  let survived = 0;
  for (let round = 0; round < 3000; round++) {
    const bad = Buffer.from(good);
    const flips = 1 + rng.int(4);
    for (let f = 0; f < flips; f++) bad[rng.int(bad.length)] = rng.int(256);
    if (rng.int(10) === 0) bad.writeUInt32LE(rng.int(2 ** 32), rng.int(bad.length - 3));
    try {
      const it = new Block(bad, 'x', 0).iterator(bytewiseComparator);
      let steps = 0;
      for (it.seekToFirst(); it.valid(); it.next()) if (++steps > bad.length) throw new Error('forward loop');
      steps = 0;
      for (it.seekToLast(); it.valid(); it.prev()) if (++steps > bad.length) throw new Error('backward loop');
      for (let s = 0; s < 20; s++) {
        it.seek(entries[rng.int(entries.length)]!.key);
        if (it.valid()) it.prev();
      }
      survived++;
    } catch (e) {
      if (e instanceof CorruptionError) corruptions++;
      else {
        other++;
        if (other < 3) t.fail(`unexpected ${String(e)}`);
      }
    }
  }
  t.equal(other, 0, 'only CorruptionError');
  t.ok(corruptions > 0, `${corruptions} detected, ${survived} decoded (checksums catch the rest)`);
  t.end();
});

t.test('builder options are validated', (t) => {
  t.throws(() => new BlockBuilder(0));
  t.throws(() => new BlockBuilder(1.5));
  t.end();
});
