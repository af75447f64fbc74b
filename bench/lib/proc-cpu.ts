/**
 * CPU time of processes, to charge each bench phase its CPU-microseconds per operation (server
 * processes from /proc/<pid>/stat, this process from process.cpuUsage()). Linux only for other
 * processes: elsewhere, or for a process that is gone, the reading is undefined and reports show "-".
 */
import { readFileSync } from 'node:fs';

/** /proc/<pid>/stat counts in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const USER_HZ = 100;

/** utime + stime of pid in µs (10 ms resolution), or undefined when it cannot be read. */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1_000_000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** The summed CPU µs of pids, undefined if any cannot be read (or there are none). */
export function totalCpuMicros(pids: readonly number[]): number | undefined {
  if (pids.length === 0) return undefined;
  let sum = 0;
  for (const pid of pids) {
    const us = processCpuMicros(pid);
    if (us === undefined) return undefined;
    sum += us;
  }
  return sum;
}

export function selfCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
