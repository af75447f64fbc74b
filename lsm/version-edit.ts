/**
 * A version edit: one change to the set of live files, and the manifest's unit of record. The manifest
 * (MANIFEST-NNNNNN) is a log file in the WAL's block format (wal/format.ts) whose file header carries
 * MANIFEST_MAGIC and the format version; each logical record is one encoded edit. Replaying the edits
 * in order from the first rebuilds the current Version. Layout (lsm/FORMAT.md, "Manifest and CURRENT"):
 *
 *   edit   := field*                               (in any order, each at most once except files)
 *   field  := tag varint ‖ payload
 *     1 comparator      slice (varint length ‖ bytes): the user comparator's name
 *     2 log number      varint: WAL files numbered below it are obsolete (their data is in tables)
 *     3 next file       varint: the next file number to hand out
 *     4 last sequence   varint
 *     5 deleted file    varint level ‖ varint file number
 *     6 new file        varint level ‖ varint file number ‖ varint file size
 *                       ‖ slice smallest internal key ‖ slice largest internal key
 *     7 compact pointer varint level ‖ slice internal key: where the next size-triggered compaction
 *                       of that level starts (after this key), so each level is compacted round-robin
 *
 * An unknown tag, a level >= NUM_LEVELS, a key shorter than the 8-byte trailer or a field running past
 * the record is CorruptionError: an edit we cannot fully understand must not be half applied.
 *
 * Example: log number 7, next file 9, last sequence 300, new file 8 at level 0 of 1234 bytes with
 * keys "a"@5 and "b"@9 (both values):
 *   02 07  03 09  04 ac 02  06 00 08 d2 09 09 61 01 05 00 00 00 00 00 00 09 62 01 09 00 00 00 00 00 00
 */
import { getVarint, putVarint, varintLength } from './coding.js';
import { TRAILER_SIZE } from './dbformat.js';
import { CorruptionError } from './errors.js';

export const NUM_LEVELS = 7;
/** "MDMF" read as a little-endian uint32: the manifest's log-file header magic. */
export const MANIFEST_MAGIC = 0x464d444d;

const TAG_COMPARATOR = 1;
const TAG_LOG_NUMBER = 2;
const TAG_NEXT_FILE = 3;
const TAG_LAST_SEQUENCE = 4;
const TAG_DELETED_FILE = 5;
const TAG_NEW_FILE = 6;
const TAG_COMPACT_POINTER = 7;

/** A table file as the manifest records it. smallest/largest are internal keys. */
export interface FileMetaData {
  readonly number: number;
  readonly size: number;
  readonly smallest: Buffer;
  readonly largest: Buffer;
}

export interface NewFile {
  level: number;
  file: FileMetaData;
}

export interface CompactPointer {
  level: number;
  key: Buffer;
}

export interface DeletedFile {
  level: number;
  number: number;
}

export class VersionEdit {
  comparator: string | undefined;
  logNumber: number | undefined;
  nextFileNumber: number | undefined;
  lastSequence: number | undefined;
  readonly deletedFiles: DeletedFile[] = [];
  readonly newFiles: NewFile[] = [];
  readonly compactPointers: CompactPointer[] = [];

  setCompactPointer(level: number, key: Buffer): void {
    this.compactPointers.push({ level, key });
  }

  addFile(level: number, file: FileMetaData): void {
    this.newFiles.push({ level, file });
  }

  deleteFile(level: number, number: number): void {
    this.deletedFiles.push({ level, number });
  }

  encode(): Buffer {
    const name = this.comparator === undefined ? undefined : Buffer.from(this.comparator, 'utf8');
    let size = 0;
    if (name !== undefined) size += 1 + varintLength(name.length) + name.length;
    for (const v of [this.logNumber, this.nextFileNumber, this.lastSequence]) {
      if (v !== undefined) size += 1 + varintLength(v);
    }
    for (const d of this.deletedFiles) size += 1 + varintLength(d.level) + varintLength(d.number);
    for (const c of this.compactPointers) size += 1 + varintLength(c.level) + varintLength(c.key.length) + c.key.length;
    for (const { level, file: f } of this.newFiles) {
      size += 1 + varintLength(level) + varintLength(f.number) + varintLength(f.size);
      size += varintLength(f.smallest.length) + f.smallest.length + varintLength(f.largest.length) + f.largest.length;
    }
    const out = Buffer.allocUnsafe(size);
    let p = 0;
    const slice = (b: Uint8Array): void => {
      p = putVarint(out, p, b.length);
      out.set(b, p);
      p += b.length;
    };
    if (name !== undefined) {
      out[p++] = TAG_COMPARATOR;
      slice(name);
    }
    if (this.logNumber !== undefined) p = putVarint(out, putVarint(out, p, TAG_LOG_NUMBER), this.logNumber);
    if (this.nextFileNumber !== undefined) p = putVarint(out, putVarint(out, p, TAG_NEXT_FILE), this.nextFileNumber);
    if (this.lastSequence !== undefined) p = putVarint(out, putVarint(out, p, TAG_LAST_SEQUENCE), this.lastSequence);
    for (const c of this.compactPointers) {
      out[p++] = TAG_COMPACT_POINTER;
      p = putVarint(out, p, c.level);
      slice(c.key);
    }
    for (const d of this.deletedFiles) {
      out[p++] = TAG_DELETED_FILE;
      p = putVarint(out, putVarint(out, p, d.level), d.number);
    }
    for (const { level, file: f } of this.newFiles) {
      out[p++] = TAG_NEW_FILE;
      p = putVarint(out, putVarint(out, putVarint(out, p, level), f.number), f.size);
      slice(f.smallest);
      slice(f.largest);
    }
    return out.subarray(0, p);
  }

  /** Decodes one manifest record; `file` and `offset` name it in errors. */
  static decode(data: Uint8Array, file?: string, offset?: number): VersionEdit {
    const edit = new VersionEdit();
    let p = 0;
    const fail = (what: string): never => {
      throw new CorruptionError(`manifest record: ${what}`, file, offset);
    };
    const varint = (what: string): number => {
      try {
        const d = getVarint(data, p);
        p = d.next;
        return d.value;
      } catch {
        return fail(`bad ${what}`);
      }
    };
    const slice = (what: string): Buffer => {
      const n = varint(`${what} length`);
      if (p + n > data.length) fail(`${what} runs past the end`);
      const b = Buffer.from(data.subarray(p, p + n));
      p += n;
      return b;
    };
    const level = (): number => {
      const l = varint('level');
      if (l >= NUM_LEVELS) fail(`level ${l} out of range`);
      return l;
    };
    const ikey = (what: string): Buffer => {
      const k = slice(what);
      if (k.length < TRAILER_SIZE) fail(`${what} shorter than an internal key`);
      return k;
    };
    while (p < data.length) {
      const tag = varint('tag');
      switch (tag) {
        case TAG_COMPARATOR:
          edit.comparator = slice('comparator name').toString('utf8');
          break;
        case TAG_LOG_NUMBER:
          edit.logNumber = varint('log number');
          break;
        case TAG_NEXT_FILE:
          edit.nextFileNumber = varint('next file number');
          break;
        case TAG_LAST_SEQUENCE:
          edit.lastSequence = varint('last sequence');
          break;
        case TAG_DELETED_FILE: {
          const l = level();
          edit.deleteFile(l, varint('file number'));
          break;
        }
        case TAG_NEW_FILE: {
          const l = level();
          const number = varint('file number');
          const size = varint('file size');
          const smallest = ikey('smallest key');
          const largest = ikey('largest key');
          edit.addFile(l, { number, size, smallest, largest });
          break;
        }
        case TAG_COMPACT_POINTER: {
          const l = level();
          edit.setCompactPointer(l, ikey('compact pointer'));
          break;
        }
        default:
          fail(`unknown tag ${tag}`);
      }
    }
    return edit;
  }
}
