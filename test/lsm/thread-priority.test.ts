/**
 * The DB's background thread (flushes, compactions) runs at a lower priority than the caller's thread,
 * so that on a busy machine the event loop gets the CPU first.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DB } from '../../lsm/db.js';
import { BACKGROUND_NICE_INCREMENT } from '../../lsm/thread-priority.js';
import { waitFor } from '../support/wait.js';

/** This process's threads' nice values, by thread id (Linux /proc; field 19 of stat). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

t.test('the background thread runs at nice +10; the caller\'s thread keeps its priority', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thread-priority-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = niceByThread();
  const mainNice = before.get(process.pid)!;
  const db = await DB.open(dir, { writeBufferSize: 64 << 10 });
  t.teardown(() => db.close());
  // Enough data for a few flushes: the worker starts with the first one.
  const value = Buffer.alloc(1000, 7);
  for (let i = 0; i < 500; i++) await db.put(Buffer.from(`key${i}`), value);
  const lowered = (): number[] => [...niceByThread()].filter(([tid, nice]) => !before.has(tid) && nice > mainNice && nice === Math.min(19, mainNice + BACKGROUND_NICE_INCREMENT)).map(([tid]) => tid);
  await waitFor(() => lowered().length === 1, 30_000, 'a new thread at the background priority');
  t.equal(lowered().length, 1, `one new thread at nice ${mainNice + BACKGROUND_NICE_INCREMENT}: the worker`);
  t.equal(niceByThread().get(process.pid), mainNice, 'the main thread is unchanged');
});
