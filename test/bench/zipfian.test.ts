/**
 * The YCSB key choosers (bench/lib/zipfian.ts): the zipfian's distribution against its exact
 * probabilities, and the scrambled variant's hot keys (YCSB's FNV-1a-64 scattering).
 */
import t from 'tap';
import { seededRandom } from '../../bench/lib/rng.js';
import { fnv1a64, ScrambledZipfian, ycsbFnvHash64, Zipfian, zeta } from '../../bench/lib/zipfian.js';

const SAMPLES = 200_000;

t.test('FNV-1a 64 matches the published test vectors', (t) => {
  const bytes = (s: string) => [...Buffer.from(s)];
  t.equal(fnv1a64(bytes('')), 0xcbf29ce484222325n);
  t.equal(fnv1a64(bytes('a')), 0xaf63dc4c8601ec8cn);
  t.equal(fnv1a64(bytes('ab')), 0x089c4407b545986an);
  t.equal(fnv1a64(bytes('abc')), 0xe71fa2190541574bn);
  t.equal(ycsbFnvHash64(0x61), fnv1a64([0x61, 0, 0, 0, 0, 0, 0, 0]), 'YCSB hashes the 8 bytes of a long, least significant first');
  t.end();
});

t.test('zipfian ranks follow 1/(i+1)^0.99 / zeta(n)', (t) => {
  const n = 1000;
  const z = new Zipfian(n, seededRandom(7));
  const counts = new Float64Array(n);
  for (let i = 0; i < SAMPLES; i++) {
    const r = z.next();
    if (r < 0 || r >= n || !Number.isInteger(r)) t.fail(`rank ${r} out of [0, ${n})`);
    counts[r]!++;
  }
  t.equal(z.probability(0), 1 / zeta(n, 0.99), 'rank 0 has probability 1/zeta(n)');
  // Ranks 0 and 1 are drawn exactly; the closed form approximates the rest (Gray et al.).
  for (const rank of [0, 1]) {
    const seen = counts[rank]! / SAMPLES;
    const want = z.probability(rank);
    t.ok(Math.abs(seen - want) < 0.05 * want, `rank ${rank}: ${seen.toFixed(4)} vs ${want.toFixed(4)}`);
  }
  // The CDF at a few points, within 2 percentage points of the exact one.
  for (const top of [10, 100, 500]) {
    let seen = 0;
    let want = 0;
    for (let i = 0; i < top; i++) {
      seen += counts[i]! / SAMPLES;
      want += z.probability(i);
    }
    t.ok(Math.abs(seen - want) < 0.02, `top ${top} ranks: ${(seen * 100).toFixed(1)}% of draws vs ${(want * 100).toFixed(1)}% exact`);
  }
  t.ok(counts[0]! > counts[9]! && counts[9]! > counts[99]! && counts[99]! > counts[999]!, 'popularity falls with rank');
  t.end();
});

t.test('scrambled zipfian: keys in range, hottest key as YCSB predicts, hot keys scattered', (t) => {
  const keys = 100_000;
  const z = new ScrambledZipfian(keys, seededRandom(11));
  const counts = new Float64Array(keys);
  for (let i = 0; i < SAMPLES; i++) {
    const k = z.next();
    if (k < 0 || k >= keys || !Number.isInteger(k)) t.fail(`key ${k} out of [0, ${keys})`);
    counts[k]!++;
  }
  const hottest = z.keyOfRank(0);
  const share = counts[hottest]! / SAMPLES;
  const want = z.rankProbability(0); // 1/26.469 = 3.78%
  t.ok(Math.abs(share - want) < 0.1 * want, `hottest key ${hottest} gets ${(share * 100).toFixed(2)}% (rank 0: ${(want * 100).toFixed(2)}%)`);
  let max = 0;
  for (const c of counts) max = Math.max(max, c);
  t.equal(max, counts[hottest], 'no other key is hotter');
  const top10 = Array.from({ length: 10 }, (_, r) => z.keyOfRank(r));
  t.equal(new Set(top10).size, 10, 'the 10 hottest ranks map to 10 different keys');
  t.ok(Math.max(...top10) - Math.min(...top10) > keys / 4, `the hot keys are scattered over the key space: ${top10.join(', ')}`);
  let touched = 0;
  for (const c of counts) if (c > 0) touched++;
  t.ok(touched > keys / 4, `a long tail: ${touched} distinct keys drawn`);
  t.end();
});

t.test('the same seed gives the same key sequence; bad sizes are refused', (t) => {
  const a = new ScrambledZipfian(1000, seededRandom(3));
  const b = new ScrambledZipfian(1000, seededRandom(3));
  const sa = Array.from({ length: 100 }, () => a.next());
  const sb = Array.from({ length: 100 }, () => b.next());
  t.same(sa, sb);
  t.throws(() => new ScrambledZipfian(0, Math.random), RangeError);
  t.throws(() => new Zipfian(10, Math.random, 1), RangeError);
  t.end();
});
