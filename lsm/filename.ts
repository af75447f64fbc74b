/**
 * Names of the files in a database directory (lsm/FORMAT.md, "Database directory"):
 *
 *   LOCK              held by the open DB (pid inside; see node-fs.ts)
 *   CURRENT           one line naming the live manifest, e.g. "MANIFEST-000005\n"
 *   CURRENT.tmp       CURRENT being replaced (write, sync, rename over CURRENT, sync directory)
 *   MANIFEST-NNNNNN   log of version edits
 *   NNNNNN.log        write-ahead log
 *   NNNNNN.sst        sorted table
 *
 * NNNNNN is a file number in decimal, zero-padded to at least 6 digits. Every number is handed out once
 * by the version set, whatever the kind of file.
 */
export const LOCK_FILE = 'LOCK';
export const CURRENT_FILE = 'CURRENT';
export const CURRENT_TMP_FILE = 'CURRENT.tmp';

export type FileKind = 'log' | 'table' | 'manifest' | 'current' | 'current-tmp' | 'lock';

export interface ParsedFileName {
  kind: FileKind;
  /** The file number; 0 for CURRENT, CURRENT.tmp and LOCK. */
  number: number;
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

export function logFileName(n: number): string {
  return `${pad(n)}.log`;
}

export function tableFileName(n: number): string {
  return `${pad(n)}.sst`;
}

export function manifestFileName(n: number): string {
  return `MANIFEST-${pad(n)}`;
}

const NUMBERED = /^(\d{6,16})\.(log|sst)$/;
const MANIFEST = /^MANIFEST-(\d{6,16})$/;

/** What a directory entry is, or undefined for a name the engine does not own (left alone). */
export function parseFileName(name: string): ParsedFileName | undefined {
  if (name === LOCK_FILE) return { kind: 'lock', number: 0 };
  if (name === CURRENT_FILE) return { kind: 'current', number: 0 };
  if (name === CURRENT_TMP_FILE) return { kind: 'current-tmp', number: 0 };
  let m = MANIFEST.exec(name);
  if (m !== null) return { kind: 'manifest', number: Number(m[1]) };
  m = NUMBERED.exec(name);
  if (m !== null) return { kind: m[2] === 'log' ? 'log' : 'table', number: Number(m[1]) };
  return undefined;
}
