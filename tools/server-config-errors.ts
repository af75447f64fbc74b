/**
 * Typed errors of `mydatastore server`'s settings: the config file (unreadable, not JSON, unknown key, bad
 * value), a MYDATASTORE_* variable the command line parser cannot judge, and settings that contradict
 * each other. Codes are listed in tools/CONFIG.md; the command prints the message and exits 2.
 */

export abstract class ServerConfigError extends Error {
  abstract readonly code: string;
}

/** Where in the file a problem is, 1-based, when known. */
export interface FilePosition {
  line: number;
  column: number;
}

function at(pos: FilePosition | undefined): string {
  return pos === undefined ? '' : ` (line ${pos.line}, column ${pos.column})`;
}

export class ConfigFileUnreadableError extends ServerConfigError {
  readonly code = 'CONFIG_FILE_UNREADABLE';
  override readonly name = 'ConfigFileUnreadableError';
  constructor(readonly file: string, reason: string) {
    super(`config file ${file}: cannot read it: ${reason}`);
  }
}

export class ConfigFileSyntaxError extends ServerConfigError {
  readonly code = 'CONFIG_FILE_SYNTAX';
  override readonly name = 'ConfigFileSyntaxError';
  constructor(readonly file: string, readonly position: FilePosition | undefined, reason: string) {
    super(`config file ${file}${at(position)}: ${reason}`);
  }
}

export class ConfigFileUnknownKeyError extends ServerConfigError {
  readonly code = 'CONFIG_FILE_UNKNOWN_KEY';
  override readonly name = 'ConfigFileUnknownKeyError';
  constructor(readonly file: string, readonly key: string, readonly position: FilePosition | undefined, hint: string) {
    super(`config file ${file}${at(position)}: unknown key "${key}"; ${hint}`);
  }
}

export class ConfigFileValueError extends ServerConfigError {
  readonly code = 'CONFIG_FILE_BAD_VALUE';
  override readonly name = 'ConfigFileValueError';
  constructor(readonly file: string, readonly key: string, readonly position: FilePosition | undefined, reason: string) {
    super(`config file ${file}${at(position)}: key "${key}": ${reason}`);
  }
}

export class ConfigEnvError extends ServerConfigError {
  readonly code = 'CONFIG_BAD_ENV';
  override readonly name = 'ConfigEnvError';
  constructor(readonly variable: string, reason: string) {
    super(`environment variable ${variable}: ${reason}`);
  }
}

export class ConfigConflictError extends ServerConfigError {
  readonly code = 'CONFIG_CONFLICT';
  override readonly name = 'ConfigConflictError';
  constructor(reason: string) {
    super(`invalid settings: ${reason}`);
  }
}
