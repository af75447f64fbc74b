/** The test clock hook: unset is Date.now; a file's offset shifts the clock; a bad file is a clear error. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../rpc/logger.js';
import { readOffset, wallClock } from '../../tools/test-clock.js';

t.test('the wall clock follows the offset file; malformed files are refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mydatastore-test-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(wallClock(silentLogger, undefined), Date.now, 'unset: the real clock');
  const file = join(dir, 'offset');
  writeFileSync(file, '-90000\n');
  const clock = wallClock(silentLogger, file);
  const skew = clock() - Date.now();
  t.ok(skew <= -89_990 && skew >= -90_010, `90 s behind (${skew} ms)`);
  for (const bad of ['', 'soon', '1.5', '1e400']) {
    writeFileSync(file, bad);
    t.throws(() => readOffset(file), /must hold an integer number of ms/, JSON.stringify(bad));
  }
  t.end();
});
