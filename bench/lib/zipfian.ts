/**
 * Key choice for the YCSB-style workloads, following YCSB's own generators (core/generator/
 * ZipfianGenerator.java and ScrambledZipfianGenerator.java, after Gray et al., "Quickly Generating
 * Billion-Record Synthetic Databases", SIGMOD 1994):
 *
 * - `Zipfian`: item i (0-based rank) is drawn with probability (1/(i+1)^theta) / zeta(n, theta). Rank 0 is
 *   the hottest item, so the hot items are neighbours.
 * - `ScrambledZipfian`: YCSB's default request distribution. It draws a rank from a zipfian over 10^10
 *   items (zeta precomputed by YCSB for theta 0.99) and maps it to a key with FNV-1a-64 modulo the key
 *   count, so the hot keys are spread over the key space (and over the ring's partitions) instead of
 *   being key 0, 1, 2... Collisions of that mapping only make a few keys a little hotter.
 *
 * Randomness is injected (`random()` in [0, 1)), so a seeded source replays a run.
 */

/** YCSB's ZIPFIAN_CONSTANT. */
export const YCSB_THETA = 0.99;
/** ScrambledZipfianGenerator.ITEM_COUNT and its precomputed zeta(ITEM_COUNT, 0.99) (ZETAN). */
const SCRAMBLE_ITEMS = 10_000_000_000;
const SCRAMBLE_ZETAN = 26.46902820178302;

/** zeta(n, theta) = sum over i in 1..n of 1 / i^theta. O(n): compute once per generator. */
export function zeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / Math.pow(i, theta);
  return sum;
}

/** Zipfian ranks in [0, items): rank 0 most popular. */
export class Zipfian {
  private readonly alpha: number;
  private readonly eta: number;
  private readonly half: number;

  /** `zetan` may be passed when known (it costs O(items) to compute). */
  constructor(
    readonly items: number,
    private readonly random: () => number,
    readonly theta = YCSB_THETA,
    private readonly zetan = zeta(items, theta),
  ) {
    if (!Number.isInteger(items) || items < 1) throw new RangeError(`zipfian: items must be an integer >= 1, got ${items}`);
    if (!(theta > 0 && theta < 1)) throw new RangeError(`zipfian: theta must be in (0, 1), got ${theta}`);
    const zeta2 = zeta(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / items, 1 - theta)) / (1 - zeta2 / zetan);
    this.half = 1 + Math.pow(0.5, theta);
  }

  /** The probability of rank i (exact, for tests and reports). */
  probability(rank: number): number {
    return 1 / Math.pow(rank + 1, this.theta) / this.zetan;
  }

  next(): number {
    const u = this.random();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < this.half) return Math.min(1, this.items - 1);
    // Gray et al.'s closed-form approximation of the inverse CDF for the ranks beyond the first two.
    const rank = Math.floor(this.items * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    return Math.min(rank, this.items - 1);
  }
}

/** YCSB's scrambled zipfian: keys in [0, keys), popularity zipfian (theta 0.99), hot keys scattered. */
export class ScrambledZipfian {
  private readonly ranks: Zipfian;

  constructor(
    readonly keys: number,
    random: () => number,
  ) {
    if (!Number.isInteger(keys) || keys < 1) throw new RangeError(`scrambled zipfian: keys must be an integer >= 1, got ${keys}`);
    this.ranks = new Zipfian(SCRAMBLE_ITEMS, random, YCSB_THETA, SCRAMBLE_ZETAN);
  }

  /** The key that rank r (0 = hottest) of the underlying zipfian maps to. */
  keyOfRank(rank: number): number {
    return scramble(rank, this.keys);
  }

  /** Probability of rank r of the underlying zipfian (a lower bound of its key's probability). */
  rankProbability(rank: number): number {
    return this.ranks.probability(rank);
  }

  next(): number {
    return scramble(this.ranks.next(), this.keys);
  }
}

const FNV_OFFSET_BASIS_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a, 64 bits, of a byte sequence (the published algorithm; its test vectors check this code). */
export function fnv1a64(bytes: Iterable<number>): bigint {
  let h = FNV_OFFSET_BASIS_64;
  for (const b of bytes) h = ((h ^ BigInt(b & 0xff)) * FNV_PRIME_64) & MASK_64;
  return h;
}

/** YCSB's Utils.fnvhash64: FNV-1a over the 8 bytes of a Java long, least significant first. */
export function ycsbFnvHash64(value: number): bigint {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  for (let i = 0; i < 8; i++) {
    bytes.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return fnv1a64(bytes);
}

/** rank → key as YCSB does: Math.abs(fnvhash64(rank)) % keys, the hash read as a signed Java long. */
function scramble(rank: number, keys: number): number {
  const signed = BigInt.asIntN(64, ycsbFnvHash64(rank));
  const abs = signed < 0n ? -signed : signed;
  return Number(abs % BigInt(keys));
}
