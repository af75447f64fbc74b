/**
 * What the soak bench samples of each node: resident memory and open file descriptors of its process
 * (Linux /proc), and the bytes of its data directory. A process that is gone, or a platform without
 * /proc, reads as undefined; files that vanish during the walk (an SSTable deleted by compaction, a
 * rotated WAL segment) are skipped, so a reading taken mid-compaction is a little low, never an error.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** VmRSS of pid in bytes (/proc/<pid>/status reports kB), or undefined. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** The number of entries of /proc/<pid>/fd (sockets, files, pipes, event fds), or undefined. */
export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/**
 * Open fds of pid by what they point at: "socket", "pipe", "anon" (epoll, eventfd, timerfd...) or
 * "file" (a path: tables, WAL, logs); undefined when they cannot be read. For telling which kind grows.
 */
export function fdKinds(pid: number): Record<string, number> | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const kinds: Record<string, number> = {};
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    const kind = target.startsWith('socket:') ? 'socket' : target.startsWith('pipe:') ? 'pipe' : target.startsWith('anon_inode:') ? 'anon' : 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** The summed size of every regular file under dir (symbolic links not followed); 0 for a missing dir. */
export async function dirBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let sum = 0;
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) sum += await dirBytes(path);
    else if (e.isFile()) sum += await fileBytes(path);
  }
  return sum;
}

async function fileBytes(path: string): Promise<number> {
  try {
    return (await lstat(path)).size;
  } catch {
    return 0;
  }
}
