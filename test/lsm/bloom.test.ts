import t from 'tap';
import { bloomHash, bloomMayContain, BloomFilterPolicy } from '../../lsm/bloom.js';

const key = (i: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(i);
  return b;
};

t.test('the hash is MurmurHash3 x86_32 (published test vectors)', (t) => {
  t.equal(bloomHash(Buffer.alloc(0), 0, 0, 0), 0);
  t.equal(bloomHash(Buffer.alloc(0), 0, 0, 1), 0x514e28b7);
  t.equal(bloomHash(Buffer.alloc(0), 0, 0, 0xffffffff), 0x81f16f39);
  t.equal(bloomHash(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 0), 0x76293b50);
  t.equal(bloomHash(Buffer.from([0x21, 0x43, 0x65, 0x87]), 0, 4, 0), 0xf55b516b);
  t.equal(bloomHash(Buffer.from([0x21, 0x43, 0x65]), 0, 3, 0), 0x7e4a8634);
  t.equal(bloomHash(Buffer.from([0x21, 0x43]), 0, 2, 0), 0xa0f7b07a);
  t.equal(bloomHash(Buffer.from([0x21]), 0, 1, 0), 0x72661cf4);
  t.equal(bloomHash(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x2fa826cd, 'default seed 0x9747b28c');
  const framed = Buffer.from('xxhelloyy');
  t.equal(bloomHash(framed, 2, 7), bloomHash(Buffer.from('hello')), 'a sub-range hashes like a copy');
  t.end();
});

t.test('k = round(bits * ln 2) clamped to 1..30, stored in the last byte', (t) => {
  t.equal(new BloomFilterPolicy(10).k, 7);
  t.equal(new BloomFilterPolicy(1).k, 1);
  t.equal(new BloomFilterPolicy(0.1).k, 1);
  t.equal(new BloomFilterPolicy(100).k, 30);
  const f = new BloomFilterPolicy(10).build([Buffer.from('a')]);
  t.equal(f[f.length - 1], 7);
  t.equal(f.length, 8 + 1, 'at least 64 bits');
  t.equal(new BloomFilterPolicy(10).build(Array.from({ length: 1000 }, (_, i) => key(i))).length, 1250 + 1);
  t.throws(() => new BloomFilterPolicy(0));
  t.throws(() => new BloomFilterPolicy(NaN));
  t.end();
});

t.test('no false negatives, any size and bits per key', (t) => {
  let misses = 0;
  for (const bits of [1, 4, 10, 23]) {
    const policy = new BloomFilterPolicy(bits);
    for (const n of [0, 1, 2, 10, 100, 1000, 10000]) {
      const keys = Array.from({ length: n }, (_, i) => key(i * 7919));
      const filter = policy.build(keys);
      for (const k of keys) if (!policy.mayContain(filter, k)) misses++;
    }
  }
  t.equal(misses, 0);
  t.end();
});

t.test('empty filter excludes everything; unknown encodings exclude nothing', (t) => {
  const empty = new BloomFilterPolicy().build([]);
  t.notOk(bloomMayContain(empty, Buffer.from('x')));
  t.ok(bloomMayContain(Buffer.from([1]), Buffer.from('x')), 'too short to be a filter');
  const reserved = Buffer.alloc(9);
  reserved[8] = 31;
  t.ok(bloomMayContain(reserved, Buffer.from('x')), 'k > 30 is reserved');
  t.end();
});

t.test('false-positive rate within 2x of theory', (t) => {
  const n = 10000;
  const probes = 100000;
  for (const bits of [6, 10, 16]) {
    const policy = new BloomFilterPolicy(bits);
    const filter = policy.build(Array.from({ length: n }, (_, i) => key(i)));
    let fp = 0;
    for (let i = 0; i < probes; i++) if (policy.mayContain(filter, key(1_000_000_000 + i))) fp++;
    const m = (filter.length - 1) * 8;
    const theory = (1 - Math.exp((-policy.k * n) / m)) ** policy.k;
    const rate = fp / probes;
    t.ok(rate <= 2 * theory, `${bits} bits/key, k=${policy.k}: ${(rate * 100).toFixed(3)}% vs theory ${(theory * 100).toFixed(3)}%`);
    if (bits === 10) t.ok(rate < 0.0125, 'about 1% at 10 bits per key');
  }
  // Keys that differ little (sequential strings with a common prefix) must not cluster.
  const policy = new BloomFilterPolicy(10);
  const filter = policy.build(Array.from({ length: n }, (_, i) => Buffer.from(`user${String(i).padStart(10, '0')}`)));
  let fp = 0;
  for (let i = 0; i < probes; i++) if (policy.mayContain(filter, Buffer.from(`user${String(n + i).padStart(10, '0')}`))) fp++;
  const theory = (1 - Math.exp((-policy.k * n) / ((filter.length - 1) * 8))) ** policy.k;
  t.ok(fp / probes <= 2 * theory, `prefixed keys: ${((fp / probes) * 100).toFixed(3)}% vs theory ${(theory * 100).toFixed(3)}%`);
  t.end();
});
