/**
 * The server processes of a peer the cluster bench starts (etcd members, Redis primary and replicas):
 * found on PATH, spawned with their output in a log file, stopped with SIGTERM and then SIGKILL after a
 * grace period. etcd and Redis are not Node programs, so they cannot preload tools/exit-with-parent.ts;
 * instead the bench SIGKILLs them (and removes their directory) from its 'exit' handler, which runs on a normal exit, an uncaught
 * error and process.exit() from the signal handlers (not when the bench itself is SIGKILLed).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { KvTarget } from '../kv-target.js';

/** A peer system running for the bench: its targets, its server pids (for CPU per op), and how to stop it. */
export interface RunningPeer {
  readonly system: string;
  /** One line on what runs: members, ports, flags. */
  readonly description: string;
  readonly targets: readonly KvTarget[];
  readonly pids: readonly number[];
  /** Closes the clients, stops the processes and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  /** The last lines of every process's log (for error reports). */
  logTails(lines?: number): string;
}

/** The absolute path of an executable on PATH, or undefined. */
export function findExecutable(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PeerProcess {
  name: string;
  pid: number;
  log: string;
  child: ChildProcess;
}

/** Starts `command args` with stdout and stderr appended to `log`; rejects if it cannot be spawned. */
export async function spawnLogged(name: string, command: string, args: readonly string[], log: string): Promise<PeerProcess> {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return { name, pid: child.pid!, log, child };
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

export const isRunning = (p: PeerProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;

/** The first process that has exited, as an error (for readiness loops), or undefined. */
export function exitedEarly(processes: readonly PeerProcess[]): Error | undefined {
  const gone = processes.find((p) => !isRunning(p));
  return gone === undefined ? undefined : new Error(`${gone.name} exited (${gone.child.exitCode ?? gone.child.signalCode}); see ${gone.log}`);
}

/**
 * SIGKILLs the processes and removes their directory if the bench exits before stop() ran; returns the
 * function that removes the hook (stop() calls it).
 */
export function killOnExit(processes: readonly PeerProcess[], dir: string): () => void {
  const kill = () => {
    for (const p of processes) if (isRunning(p)) p.child.kill('SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a process killed this instant may still be writing into it: leave it to the temp cleaner
    }
  };
  process.on('exit', kill);
  return () => process.off('exit', kill);
}

/**
 * SIGTERM to every process still running, SIGKILL to those left after graceMs; resolves when all exited.
 * `warn`: say so on stderr for each process killed (off where a hang is expected).
 */
export async function stopProcesses(processes: readonly PeerProcess[], graceMs: number, warn = true): Promise<void> {
  const running = processes.filter(isRunning);
  const exits = running.map((p) => new Promise<void>((resolve) => p.child.once('exit', () => resolve())));
  for (const p of running) p.child.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const p of running) {
      if (!isRunning(p)) continue;
      if (warn) process.stderr.write(`${p.name} (pid ${p.pid}) did not stop within ${graceMs} ms of SIGTERM: killing it\n`);
      p.child.kill('SIGKILL');
    }
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(killer);
}

/** The last lines of each process's log, one section each. */
export function logTails(processes: readonly PeerProcess[], lines: number): string {
  return processes
    .map((p) => {
      let text: string;
      try {
        text = readFileSync(p.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        text = '(no log)';
      }
      return `---- ${p.name} (pid ${p.pid}) ${p.log} ----\n${text}`;
    })
    .join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
