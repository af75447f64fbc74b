/**
 * The headless browser of the browser tests: the Debian `chromium` package driven by playwright-core
 * (which downloads no browser of its own). Missing is a failure with the command that installs it, never
 * a skip: a test that silently does not run checks nothing.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's package puts it; CHROMIUM_PATH overrides. */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export class ChromiumMissingError extends Error {
  readonly code = 'TEST_CHROMIUM_MISSING';
  constructor(looked: readonly string[]) {
    super(`no Chromium found (looked at ${looked.join(', ')}): install it with "apt-get update && apt-get install -y chromium" (Debian), or set CHROMIUM_PATH to a Chromium or Chrome binary`);
    this.name = 'ChromiumMissingError';
  }
}

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.CHROMIUM_PATH;
  const candidates = given === undefined || given === '' ? CHROMIUM_CANDIDATES : [given];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new ChromiumMissingError(candidates);
  return found;
}

/** Headless Chromium. --no-sandbox: tests run as root in CI containers, where the sandbox cannot start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 });
}
