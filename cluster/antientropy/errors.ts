/** Typed errors of the Merkle tree and the tree diff; codes are documented in cluster/ERRORS.md. */

/** A local caller's bad argument: an entry with a bad key or timestamp, a bad diff option. A bug. */
export class MerkleArgumentError extends Error {
  readonly code = 'MERKLE_BAD_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'MerkleArgumentError';
  }
}

/** A peer's hash or bucket request the tree cannot answer: level, index or bucket out of range, too many. */
export class MerkleRequestError extends Error {
  readonly code = 'MERKLE_BAD_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'MerkleRequestError';
  }
}

/** A peer's answer to a hash request that does not fit the request (wrong number or size of hashes). */
export class MerkleResponseError extends Error {
  readonly code = 'MERKLE_BAD_RESPONSE';
  constructor(message: string) {
    super(message);
    this.name = 'MerkleResponseError';
  }
}

/** TreeDiff used out of order (an answer with no request pending) or its local tree changed mid-walk. */
export class MerkleDiffStateError extends Error {
  readonly code = 'MERKLE_DIFF_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'MerkleDiffStateError';
  }
}
