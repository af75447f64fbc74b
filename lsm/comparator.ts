/** Orders keys. Tables and iterators take one, so they work on user keys and internal keys alike. */
export interface Comparator {
  /** Negative, zero or positive as a sorts before, equal to, or after b. */
  compare(a: Uint8Array, b: Uint8Array): number;
  /** A stable name stored in the manifest: reopening with another comparator is refused. */
  readonly name: string;
}

/** Unsigned byte-wise order, shorter first on a common prefix: the order of user keys. */
export const bytewiseComparator: Comparator = {
  name: 'mydatastore.BytewiseComparator',
  compare: (a, b) => Buffer.compare(a, b),
};
