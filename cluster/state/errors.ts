/** Typed errors of the cluster state machine (codes listed in cluster/ERRORS.md). */

/** Bytes that are not a valid cluster command (encodeCommand/decodeCommand). */
export class ClusterCommandError extends Error {
  readonly code = 'CLUSTER_BAD_COMMAND';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterCommandError';
  }
}

/** Bytes that are not a valid cluster state snapshot, or do not match the Raft snapshot index. */
export class ClusterSnapshotError extends Error {
  readonly code = 'CLUSTER_BAD_SNAPSHOT';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterSnapshotError';
  }
}
