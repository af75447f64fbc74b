/**
 * The messages between the DB's thread and its background thread (THREADS.md has the protocol), and
 * their conversions. Messages are structured-cloned, which turns a Buffer into a plain Uint8Array and an
 * Error into a bare Error: so table metadata travels as WireFile and is rebuilt with Buffer views, and
 * errors travel as WireError and are rebuilt as the same typed class (code, message, file, offset).
 */
import { Compaction, type LevelOptions } from './compaction.js';
import type { InternalKeyComparator } from './dbformat.js';
import { ALL_LSM_ERRORS, CorruptionError, type LsmError } from './errors.js';
import type { TableSettings } from './flush-job.js';
import type { SkipListImage } from './skiplist.js';
import { Version } from './version.js';
import { NUM_LEVELS, type FileMetaData } from './version-edit.js';

/** What the worker is started with (workerData): one database directory, fixed settings. */
export interface WorkerConfig extends TableSettings {
  dir: string;
  verifyChecksums: boolean;
  levels: LevelOptions;
}

export interface WireFile {
  number: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

/** Everything runCompaction reads from a Compaction, and the snapshot bound. */
export interface CompactionSpec {
  level: number;
  manual: boolean;
  inputs: [WireFile[], WireFile[]];
  grandparents: WireFile[];
  /** Per level, the files isBaseLevelForKey looks at (levels >= level + 2); empty elsewhere. */
  levels: WireFile[][];
  smallestSnapshot: number;
}

export interface WireError {
  name: string;
  code: string | undefined;
  message: string;
  file: string | undefined;
  offset: number | undefined;
  stack: string | undefined;
}

export interface CompactionStats {
  bytesRead: number;
  bytesWritten: number;
  entriesIn: number;
  entriesDropped: number;
}

/** Main thread -> worker. */
export type ToWorker =
  | { type: 'flush'; job: number; number: number; image: SkipListImage }
  | { type: 'compact'; job: number; spec: CompactionSpec }
  | { type: 'fileNumber'; job: number; number: number }
  | { type: 'abort'; job: number };

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'flushed'; job: number; file: WireFile; arena: ArrayBuffer }
  | { type: 'compacted'; job: number; outputs: WireFile[]; stats: CompactionStats }
  | { type: 'needFileNumber'; job: number }
  | { type: 'aborted'; job: number }
  | { type: 'failed'; job: number; error: WireError };

export function toWireFile(f: FileMetaData): WireFile {
  return { number: f.number, size: f.size, smallest: f.smallest, largest: f.largest };
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function fromWireFile(f: WireFile): FileMetaData {
  return { number: f.number, size: f.size, smallest: asBuffer(f.smallest), largest: asBuffer(f.largest) };
}

export function compactionSpec(c: Compaction, smallestSnapshot: number): CompactionSpec {
  const levels: WireFile[][] = [];
  for (let level = 0; level < NUM_LEVELS; level++) {
    levels.push(level >= c.level + 2 ? c.version.files[level]!.map(toWireFile) : []);
  }
  return {
    level: c.level,
    manual: c.manual,
    inputs: [c.inputs[0].map(toWireFile), c.inputs[1].map(toWireFile)],
    grandparents: c.grandparents.map(toWireFile),
    levels,
    smallestSnapshot,
  };
}

/**
 * The worker's copy of a compaction: the same inputs and grandparents, over a Version holding only the
 * levels isBaseLevelForKey reads. Its edit is unused: the main thread installs with its own.
 */
export function compactionFromSpec(spec: CompactionSpec, o: LevelOptions, icmp: InternalKeyComparator): Compaction {
  const version = new Version(
    spec.levels.map((files) => files.map(fromWireFile)),
    () => {},
  );
  const c = new Compaction(version, spec.level, o, icmp, spec.manual);
  c.inputs = [spec.inputs[0].map(fromWireFile), spec.inputs[1].map(fromWireFile)];
  c.grandparents = spec.grandparents.map(fromWireFile);
  return c;
}

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', code: undefined, message: String(err), file: undefined, offset: undefined, stack: undefined };
  const code = (err as Partial<LsmError>).code;
  const file = err instanceof CorruptionError ? err.file : undefined;
  const offset = err instanceof CorruptionError ? err.offset : undefined;
  return { name: err.name, code: typeof code === 'string' ? code : undefined, message: err.message, file, offset, stack: err.stack };
}

/** The error as the main thread sees it: the same class for the engine's codes, else a plain Error. */
export function fromWireError(w: WireError): Error {
  let err: Error;
  if (w.code === 'LSM_CORRUPTION') {
    // CorruptionError appends " (file at byte offset)" to its message: take it off before rebuilding.
    const suffix = w.file === undefined ? '' : ` (${w.file}${w.offset === undefined ? '' : ` at byte ${w.offset}`})`;
    const base = suffix !== '' && w.message.endsWith(suffix) ? w.message.slice(0, -suffix.length) : w.message;
    err = new CorruptionError(base, w.file, w.offset);
  } else {
    const cls = ALL_LSM_ERRORS.find((c) => codeOf(c) === w.code);
    err = cls === undefined ? Object.assign(new Error(w.message), { name: w.name }) : new cls(w.message);
  }
  if (w.stack !== undefined) err.stack = `${err.stack ?? ''}\n    --- in the background thread:\n${w.stack}`;
  return err;
}

const codes = new Map<unknown, string>();

/** The `code` an engine error class gives its instances. */
function codeOf(cls: (typeof ALL_LSM_ERRORS)[number]): string {
  let code = codes.get(cls);
  if (code === undefined) {
    code = new cls('').code;
    codes.set(cls, code);
  }
  return code;
}
