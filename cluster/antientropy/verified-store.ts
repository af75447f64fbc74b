/**
 * Loads and saves the verified-ranges file (verified-format.ts) through the engine's FileSystem, so
 * tests run it on a MemFileSystem. A save writes a temporary file, syncs it, renames it over the old
 * one and syncs the directory: a crash leaves the old file or the new one, never half of one.
 *
 * A damaged file is not fatal: anti-entropy starts again from nothing verified (every epoch of every
 * partition compared once more), which costs work but loses no data. The caller logs the reason.
 */
import { joinPath, type FileSystem } from '../../lsm/env.js';
import { decodeVerified, encodeVerified } from './verified-format.js';
import { VerifiedFileCorruptError } from './service-errors.js';

export const VERIFIED_FILE = 'VERIFIED';
const TEMP_FILE = 'VERIFIED.tmp';

export interface LoadedVerified {
  markers: Map<number, number>;
  /** Why the file was ignored, when it was damaged. */
  corrupt?: VerifiedFileCorruptError;
}

export class VerifiedStore {
  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {}

  /** The stored markers; an absent file is an empty map, a damaged one too (with the reason). */
  async load(): Promise<LoadedVerified> {
    await this.fs.mkdir(this.dir);
    const path = joinPath(this.dir, VERIFIED_FILE);
    if (!(await this.fs.exists(path))) return { markers: new Map() };
    const bytes = await this.fs.readFile(path);
    try {
      return { markers: decodeVerified(bytes) };
    } catch (err) {
      if (err instanceof VerifiedFileCorruptError) return { markers: new Map(), corrupt: err };
      throw err;
    }
  }

  /** Replaces the file atomically and durably. */
  async save(markers: ReadonlyMap<number, number>): Promise<void> {
    const temp = joinPath(this.dir, TEMP_FILE);
    const file = await this.fs.openWritable(temp);
    try {
      await file.append(encodeVerified(markers));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.fs.rename(temp, joinPath(this.dir, VERIFIED_FILE));
    await this.fs.syncDir(this.dir);
  }
}
