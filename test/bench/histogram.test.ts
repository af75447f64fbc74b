/** The bench's latency histogram (bench/lib/histogram.ts) against exact percentiles of sorted samples. */
import t from 'tap';
import { Histogram, HISTOGRAM_RELATIVE_ERROR } from '../../bench/lib/histogram.js';
import { seededRandom } from '../../bench/lib/rng.js';

/** The exact p-th percentile: the smallest sample with at least p% of samples at or below it. */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

t.test('small values are exact', (t) => {
  const h = new Histogram();
  for (let v = 1; v <= 100; v++) h.record(v);
  t.equal(h.count, 100);
  t.equal(h.percentile(50), 50);
  t.equal(h.percentile(99), 99);
  t.equal(h.percentile(99.9), 100);
  t.equal(h.percentile(100), 100);
  t.same(h.summary(), { count: 100, min: 1, mean: 50.5, max: 100, p50: 50, p90: 90, p99: 99, p999: 100 });
  t.end();
});

t.test('percentiles of latencies spanning 5 decades are within the stated error, never below', (t) => {
  const random = seededRandom(5);
  const h = new Histogram();
  const samples: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const v = Math.round(10 ** (2 + 5 * random() ** 3)); // 100 µs .. 10 s, most near the bottom
    samples.push(v);
    h.record(v);
  }
  samples.sort((a, b) => a - b);
  for (const p of [1, 50, 90, 99, 99.9, 99.99]) {
    const want = exact(samples, p);
    const got = h.percentile(p);
    t.ok(got >= want && got <= want * (1 + HISTOGRAM_RELATIVE_ERROR), `p${p}: ${got} for exact ${want}`);
  }
  t.equal(h.summary().max, samples.at(-1), 'max is exact');
  t.equal(h.summary().min, samples[0], 'min is exact');
  t.end();
});

t.test('merging equals recording everything in one; empty and huge values', (t) => {
  const random = seededRandom(9);
  const a = new Histogram();
  const b = new Histogram();
  const both = new Histogram();
  for (let i = 0; i < 10_000; i++) {
    const v = Math.floor(random() * 1e6);
    (i % 3 === 0 ? a : b).record(v);
    both.record(v);
  }
  a.add(b);
  t.same(a.summary(), both.summary());
  t.ok(Number.isNaN(new Histogram().percentile(50)), 'an empty histogram has no percentiles');
  const big = new Histogram();
  big.record(2 ** 40);
  big.record(-5);
  t.equal(big.percentile(100), 2 ** 40, 'a value beyond the buckets still reports as the exact max');
  t.equal(big.percentile(50), 0, 'negative values count as 0');
  t.end();
});
