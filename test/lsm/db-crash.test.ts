/**
 * Crash test with real processes: a child (fixtures/db-writer.ts) writes batches with sync:true on a
 * real directory and prints each acknowledged batch; the parent SIGKILLs it after a random number of
 * acknowledgements (ROUNDS kill points, some of them inside memtable flushes and compactions — the
 * child runs with tiny level targets), reopens the database
 * itself and checks that every acknowledged batch is there, that no batch is partially there, and that
 * each writer's batches survive as a prefix (a sync write makes everything before it durable).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DB } from '../../lsm/index.js';
import { killAndWait, startNode } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { KEYS, batchValue } from './fixtures/db-writer.js';
import { Rng } from './rng.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/db-writer.js', import.meta.url));
const ROUNDS = Number(process.env.DB_CRASH_ROUNDS ?? 22);
const WRITERS = 4;

t.test(`kill -9 a writing process ${ROUNDS} times; acknowledged batches survive whole`, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mds-crash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rng = new Rng(Number(process.env.DB_CRASH_SEED ?? Date.now() % 100000));
  // acked.get(`${round}/${w}`) = highest acknowledged seq + 1 (a writer's acks come in order).
  const acked = new Map<string, number>();
  let kills = 0;
  let totalAcked = 0;
  const problems: string[] = [];
  let compactedLevels = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const started = await startNode(t, FIXTURE, [dir, String(round), String(WRITERS)], /^ready$/m);
    const target = 1 + rng.int(rng.int(6) === 0 ? 300 : 50);
    const ackCount = (): number => (started.output().match(/^ack /gm) ?? []).length;
    await waitFor(() => ackCount() >= target || started.child.exitCode !== null, 30_000, `${target} acks from the writer`);
    await killAndWait(started.child);
    kills++;
    if (started.child.exitCode !== null) problems.push(`round ${round}: the writer exited by itself: ${started.output().slice(-500)}`);
    for (const m of started.output().matchAll(/^ack (\d+) (\d+) (\d+)$/gm)) {
      const key = `${m[1]}/${m[2]}`;
      acked.set(key, Math.max(acked.get(key) ?? 0, Number(m[3]) + 1));
      totalAcked++;
    }

    // Reopen in the parent (the dead child's LOCK is stale) and check every batch ever written.
    const db = await DB.open(dir);
    try {
      const present = new Map<string, Map<number, number>>(); // round/w -> seq -> keys seen
      for await (const [k, v] of db.iterator()) {
        const m = /^r(\d+)\/w(\d+)\/s(\d+)\/(\d+)$/.exec(k.toString());
        if (m === null) {
          problems.push(`unexpected key ${k.toString()}`);
          continue;
        }
        const [r, w, s, j] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
        if (v.toString() !== batchValue(r, w, s, j)) problems.push(`wrong value for ${k.toString()}`);
        const lane = present.get(`${r}/${w}`) ?? new Map<number, number>();
        present.set(`${r}/${w}`, lane);
        lane.set(s, (lane.get(s) ?? 0) + 1);
      }
      for (const [lane, seqs] of present) {
        for (const [s, n] of seqs) if (n !== KEYS) problems.push(`after round ${round}: batch ${lane}/${s} has ${n} of ${KEYS} keys`);
        const count = seqs.size;
        const max = Math.max(...seqs.keys());
        if (max !== count - 1) problems.push(`after round ${round}: lane ${lane} has a gap (${count} batches, highest ${max})`);
      }
      for (const [lane, n] of acked) {
        const have = present.get(lane)?.size ?? 0;
        if (have < n) problems.push(`after round ${round}: lane ${lane} lost acknowledged batches (${have} present, ${n} acknowledged)`);
      }
      compactedLevels = Math.max(compactedLevels, db.stats().levelFiles.slice(1).filter((n) => n > 0).length);
    } finally {
      await db.close();
    }
    if (problems.length > 0) break;
  }
  t.same(problems.slice(0, 10), [], 'every acknowledged batch present, none partial, no gaps');
  t.ok(kills >= Math.min(ROUNDS, 20), `${kills} kill points, ${totalAcked} acknowledged batches`);
  const tables = fs.readdirSync(dir).filter((f) => f.endsWith('.sst')).length;
  t.ok(tables > 0, `${tables} tables: kills also hit databases with flushed memtables`);
  t.ok(compactedLevels >= 2, `kills also hit databases with compacted levels (up to ${compactedLevels} levels below L0)`);
});
