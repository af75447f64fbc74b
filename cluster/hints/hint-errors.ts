/** Typed errors of the hint store (hint-store.ts); codes listed in cluster/ERRORS.md. */

/** The stored hints are damaged: a bad magic record, an undecodable key or value, a seq beyond the counter. */
export class HintStoreCorruptError extends Error {
  readonly code = 'CLUSTER_HINTS_CORRUPT';
  constructor(dir: string, message: string) {
    super(`hint store ${dir}: ${message}`);
    this.name = 'HintStoreCorruptError';
  }
}

/** The hint store was written in a format version this build does not read. */
export class HintStoreVersionError extends Error {
  readonly code = 'CLUSTER_HINTS_VERSION';
  constructor(dir: string, readonly version: number, supported: number) {
    super(`hint store ${dir}: format version ${version}, this build reads ${supported}`);
    this.name = 'HintStoreVersionError';
  }
}

/** add() or remove() with arguments the store cannot take (empty or over-long owner, a hint over the bound). */
export class HintArgumentError extends Error {
  readonly code = 'CLUSTER_BAD_HINT';
  constructor(message: string) {
    super(message);
    this.name = 'HintArgumentError';
  }
}

/** The store is closed. */
export class HintStoreClosedError extends Error {
  readonly code = 'CLUSTER_HINTS_CLOSED';
  constructor() {
    super('hint store is closed');
    this.name = 'HintStoreClosedError';
  }
}
