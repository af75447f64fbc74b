/** Typed errors of partition streaming (codes listed in cluster/ERRORS.md). */

/** A StreamPartition or StreamDone request that is malformed or out of range. */
export class StreamRequestError extends Error {
  readonly code = 'CLUSTER_BAD_STREAM_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'StreamRequestError';
  }
}

/** Streaming a partition failed for now (no source answered, the transition moved on, the node stops). */
export class StreamFailedError extends Error {
  readonly code = 'CLUSTER_STREAM_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'StreamFailedError';
  }
}
