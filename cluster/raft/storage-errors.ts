/** Typed errors of the Raft storage (storage.ts); codes listed in cluster/ERRORS.md. */

/** Stored Raft state is damaged or inconsistent (a gap in the log, a bad record, an unknown key). */
export class RaftStorageCorruptError extends Error {
  readonly code = 'RAFT_STORAGE_CORRUPT';
  constructor(dir: string, message: string) {
    super(`raft storage ${dir}: ${message}`);
    this.name = 'RaftStorageCorruptError';
  }
}

/** The storage was written by a newer (or unknown) format version. */
export class RaftStorageVersionError extends Error {
  readonly code = 'RAFT_STORAGE_VERSION';
  constructor(dir: string, readonly version: number, supported: number) {
    super(`raft storage ${dir}: format version ${version}, this build reads ${supported}`);
    this.name = 'RaftStorageVersionError';
  }
}

/** A persist() or compact() that would break the log's invariants (a bug in the caller); nothing is written. */
export class RaftStorageWriteError extends Error {
  readonly code = 'RAFT_STORAGE_BAD_WRITE';
  constructor(message: string) {
    super(message);
    this.name = 'RaftStorageWriteError';
  }
}

/** The storage is closed. */
export class RaftStorageClosedError extends Error {
  readonly code = 'RAFT_STORAGE_CLOSED';
  constructor() {
    super('raft storage is closed');
    this.name = 'RaftStorageClosedError';
  }
}

