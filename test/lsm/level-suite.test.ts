/**
 * abstract-level's own shared test suite (written for tape) run against LsmLevel. tap runs this file
 * and parses tape's TAP output. Each database gets a fresh directory under one temp directory, which
 * is removed when the suite finishes. Tests that do not apply are skipped by the suite itself, from
 * LsmLevel's `supports` manifest (getSync: the engine reads tables asynchronously).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'tape';
import { LsmLevel, type LsmLevelOptions } from '../../lsm/index.js';

interface SuiteOptions {
  test: typeof test;
  factory: (options?: LsmLevelOptions<unknown, unknown>) => LsmLevel<unknown, unknown>;
}

// The suite is CommonJS without type declarations: require() returns `any`, typed here once.
const require = createRequire(import.meta.url);
const suite = require('abstract-level/test') as (options: SuiteOptions) => void;

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-level-suite-'));
let n = 0;
const WRITE_BUFFER_SIZE = 1024;

test.onFinish(() => fs.rmSync(base, { recursive: true, force: true }));

/**
 * Small memtables, so that the suite's data also lands in tables and reads merge memtable and tables.
 * Set in _open rather than passed to the constructor: the suite checks that the open options (as
 * seen by a postopen hook) are exactly what it passed.
 */
class SmallMemtableLevel extends LsmLevel<unknown, unknown> {
  override _open(options: Parameters<LsmLevel['_open']>[0]): Promise<void> {
    return super._open({ ...options, writeBufferSize: WRITE_BUFFER_SIZE, backgroundThread: false });
  }
}

suite({
  test,
  factory: (options) => new SmallMemtableLevel(path.join(base, String(n++)), options),
});
