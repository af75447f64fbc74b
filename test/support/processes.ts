/** Starting and stopping real node processes in tests: never leaked, never waited on with fixed sleeps. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Test } from 'tap';

const EXIT_WITH_PARENT = pathToFileURL(fileURLToPath(new URL('../../tools/exit-with-parent.js', import.meta.url))).href;

export interface Started {
  child: ChildProcess;
  /** The first stdout line matching the pattern (its first capture group). */
  match: string;
  output(): string;
}

/**
 * Spawns `node script args` (with `env` added to this process's environment), waits (up to timeoutMs)
 * for a stdout or stderr line matching `ready`, and kills the process at teardown if it is still running.
 */
export async function startNode(t: Test, script: string, args: string[], ready: RegExp, timeoutMs = 30_000, env?: NodeJS.ProcessEnv): Promise<Started> {
  // stdin is a pipe the child watches (tools/exit-with-parent.ts, preloaded) to die with this test
  // process: a test killed by tap's timeout before its teardown runs leaves no node behind.
  const child = spawn(process.execPath, ['--enable-source-maps', '--import', EXIT_WITH_PARENT, script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(env === undefined ? {} : { env: { ...process.env, ...env } }) });
  t.teardown(() => killAndWait(child));
  let out = '';
  const match = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready after ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready; output:\n${out}`));
    });
  });
  return { child, match, output: () => out };
}

/** SIGKILLs a child (if alive) and resolves when it has exited. */
export function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Resolves with the exit code (or signal name) once the child exits. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}
