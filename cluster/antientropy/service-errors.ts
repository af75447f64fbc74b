/** Typed errors of the anti-entropy service (sessions, responder, marker file); codes are in cluster/ERRORS.md. */

/** A bad service setting or argument: concurrency, bytes per second, a range, a page budget. A bug or a bad flag. */
export class AntiEntropyArgumentError extends Error {
  readonly code = 'ANTIENTROPY_BAD_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'AntiEntropyArgumentError';
  }
}

/** A peer's TreeHashes or BucketRecords request that cannot be served: bad range, version, token. */
export class AntiEntropyRequestError extends Error {
  readonly code = 'ANTIENTROPY_BAD_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'AntiEntropyRequestError';
  }
}

/** A peer's answer that does not fit the request: a record of another partition, epoch or bucket. */
export class AntiEntropyPeerError extends Error {
  readonly code = 'ANTIENTROPY_BAD_PEER_ANSWER';
  constructor(
    readonly peer: string,
    message: string,
  ) {
    super(`peer ${peer}: ${message}`);
    this.name = 'AntiEntropyPeerError';
  }
}

/** The verified-ranges file is damaged (bad magic, version, length or checksum). */
export class VerifiedFileCorruptError extends Error {
  readonly code = 'ANTIENTROPY_VERIFIED_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'VerifiedFileCorruptError';
  }
}
