/**
 * Typed errors of the storage engine, each with a stable `code`. Corruption is its own class and names
 * the file and byte offset, so an operator knows what to salvage.
 */
export abstract class LsmError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Stored bytes fail a checksum or do not parse. Never answered with wrong data instead. */
export class CorruptionError extends LsmError {
  readonly code = 'LSM_CORRUPTION';
  constructor(
    message: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(file === undefined ? message : `${message} (${file}${offset === undefined ? '' : ` at byte ${offset}`})`);
  }
}

/** Another process (or another open in this process) holds the database directory's LOCK. */
export class LockedError extends LsmError {
  readonly code = 'LSM_LOCKED';
}

/** The operating system failed a file operation. */
export class IOError extends LsmError {
  readonly code = 'LSM_IO';
}

/** The database was closed (or failed and stopped taking writes). */
export class ClosedError extends LsmError {
  readonly code = 'LSM_CLOSED';
}

/** A caller passed something the engine cannot take: wrong type, bad range, bad option. */
export class InvalidArgumentError extends LsmError {
  readonly code = 'LSM_INVALID_ARGUMENT';
}

/** IndexedDB: an index name that the store was not opened with. */
export class IndexUnknownError extends LsmError {
  readonly code = 'LSM_INDEX_UNKNOWN';
}

/** IndexedDB: an index function threw or returned something other than an array of byte strings; nothing was written. */
export class IndexFunctionError extends LsmError {
  readonly code = 'LSM_INDEX_FUNCTION';
}

/** Every error class of the engine, for the test that checks each code is documented. */
export const ALL_LSM_ERRORS = [
  CorruptionError,
  LockedError,
  IOError,
  ClosedError,
  InvalidArgumentError,
  IndexUnknownError,
  IndexFunctionError,
] as const;
