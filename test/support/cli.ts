/** Running the built `mydatastore` command in tests, as a user would from a shell. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The compiled CLI entry point (dist/tools/mydatastore.js). */
export const cli = fileURLToPath(new URL('../../tools/mydatastore.js', import.meta.url));
const run = promisify(execFile);

/** Runs `mydatastore ...args` to completion (60 s at most); never throws for a non-zero exit. */
export async function mydatastore(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
