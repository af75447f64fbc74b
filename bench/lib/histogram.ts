/**
 * A latency histogram in the manner of HdrHistogram: fixed memory, O(1) record, log-bucketed with a
 * bounded relative error, mergeable (so later several client processes can add their histograms).
 *
 * Values are non-negative integers (the bench records microseconds). Layout, with SUB_BITS = 8:
 *   - values 0..255 each have their own bucket (exact);
 *   - above, every power of two [2^m, 2^(m+1)) is split into 128 equal buckets of width 2^(m-7).
 * A bucket's width is at most 1/128 of the values in it, so a reported percentile is within 1/128 = 0.78%
 * (above the true value, never below: we report the bucket's highest value, clamped to the maximum seen)
 * — a little better than HdrHistogram with 2 significant digits. Values of 2^32 and more (71 minutes in
 * µs) land in the last bucket, which reports the maximum; min, max, count and mean are exact.
 *
 * Index of v >= 256: m = floor(log2 v), shift = m - 7, sub = v >> shift (in 128..255),
 * index = shift * 128 + sub. E.g. v = 1000: m = 9, shift = 2, sub = 250, index = 506, bucket [1000, 1003].
 */
const SUB_BITS = 8;
const LINEAR = 1 << SUB_BITS; // 256 exact buckets
const HALF = LINEAR >> 1; // 128 buckets per power of two above them
const MAX_SHIFT = 32 - SUB_BITS; // values up to 2^32 - 1
const BUCKETS = MAX_SHIFT * HALF + LINEAR;

/** Worst-case relative error of a percentile read from the histogram. */
export const HISTOGRAM_RELATIVE_ERROR = 1 / HALF;

export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = -Infinity;

  get count(): number {
    return this.n;
  }

  record(value: number): void {
    const v = value <= 0 || !Number.isFinite(value) ? 0 : Math.round(value);
    this.counts[indexOf(v)]!++;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Adds another histogram's counts to this one. */
  add(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sum += other.sum;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  /**
   * The p-th percentile (0 < p <= 100): the smallest recorded value v such that at least p% of the
   * values are <= v, up to the bucket's resolution. NaN when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === BUCKETS - 1 ? this.hi : Math.max(this.lo, Math.min(this.hi, highestOf(i)));
    }
    return this.hi;
  }

  mean(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }

  summary(): HistogramSummary {
    return {
      count: this.n,
      min: this.n === 0 ? NaN : this.lo,
      mean: this.mean(),
      max: this.n === 0 ? NaN : this.hi,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
    };
  }
}

function indexOf(v: number): number {
  if (v < LINEAR) return v;
  if (v >= 2 ** 32) return BUCKETS - 1;
  const shift = 31 - Math.clz32(v) - (SUB_BITS - 1);
  return shift * HALF + (v >>> shift);
}

/** The highest value that maps to bucket i. */
function highestOf(i: number): number {
  if (i < LINEAR) return i;
  const shift = Math.floor((i - LINEAR) / HALF) + 1;
  const sub = i - shift * HALF;
  return (sub + 1) * 2 ** shift - 1;
}
