import t from 'tap';
import { bytewiseComparator, compareByteRanges } from '../../lsm/comparator.js';
import { Rng } from './iterator-suite.js';

t.test('bytewise compare and compareRange agree with Buffer.compare (short and long keys)', (t) => {
  const rng = new Rng(11);
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    // Long shared prefixes exercise the native path (>= 48 bytes), short ones the JS loop.
    const prefix = rng.bytes(rng.int(2) === 0 ? rng.int(4) : 50 + rng.int(30));
    const a = Buffer.concat([prefix, rng.bytes(rng.int(3))]);
    const b = Buffer.concat([prefix, rng.bytes(rng.int(3))]);
    const want = Math.sign(Buffer.compare(a, b));
    if (Math.sign(bytewiseComparator.compare(a, b)) !== want) bad++;
    if (Math.sign(bytewiseComparator.compare(new Uint8Array(a), b)) !== want) bad++;
    const pa = Buffer.concat([rng.bytes(3), a, rng.bytes(2)]);
    const pb = Buffer.concat([rng.bytes(5), b]);
    if (Math.sign(compareByteRanges(pa, 3, 3 + a.length, pb, 5, 5 + b.length)) !== want) bad++;
  }
  t.equal(bad, 0);
  t.equal(bytewiseComparator.compareRange?.(Buffer.from('xab'), 1, 3, Buffer.from('ab'), 0, 2), 0, 'offered');
  t.end();
});
