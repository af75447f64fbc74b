import t from 'tap';
import { DB, MemFileSystem, WriteBatch, type Logger } from '../../lsm/index.js';
import { HintStore, type Hint } from '../../cluster/hints/hint-store.js';
import { hintSize } from '../../cluster/hints/hint-format.js';
import { Rng } from '../support/rng.js';

const DIR = '/hints';
const b = (s: string): Buffer => Buffer.from(s);

async function all(store: HintStore, owner: string, limit?: number): Promise<Hint[]> {
  const out: Hint[] = [];
  for await (const h of store.forOwner(owner, limit)) out.push(h);
  return out;
}
const view = (hs: Hint[]): string[] => hs.map((h) => `${h.seq}:${h.key.toString()}=${h.record.toString()}`);

function recordingLogger(): Logger & { lines: { msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
  return { lines, info() {}, error() {}, warn: (msg, fields) => lines.push({ msg, fields }) };
}

t.test('hints come back per owner, in insertion order, and go away when removed', async (t) => {
  const store = await HintStore.open(DIR, { fs: new MemFileSystem() });
  const seqs: number[] = [];
  for (let i = 0; i < 6; i++) seqs.push(await store.add(i % 2 === 0 ? 'n2' : 'n3', b(`k${i}`), b(`v${i}`)));
  t.same(seqs, [0, 1, 2, 3, 4, 5], 'sequence numbers count up across owners');
  t.same(view(await all(store, 'n2')), ['0:k0=v0', '2:k2=v2', '4:k4=v4']);
  t.same(view(await all(store, 'n3', 2)), ['1:k1=v1', '3:k3=v3'], 'limit');
  t.same(await all(store, 'n4'), []);
  t.same(await all(store, 'n'), [], 'an owner that is a prefix of another sees none of its hints');
  t.same(store.pendingOwners(), ['n2', 'n3']);
  t.match(store.stats(), { pendingHints: 6, pendingBytes: 6 * hintSize(2, 2, 2), dropped: 0 });

  t.equal(await store.remove('n2', 0, 4, 4, 99), 2, 'duplicates and unknown seqs are skipped');
  t.equal(await store.remove('n3', 2), 0, 'a seq of another owner is not removed');
  t.equal(await store.remove('n2', 0), 0, 'removing twice is harmless');
  t.same(view(await all(store, 'n2')), ['2:k2=v2']);
  t.equal(store.pendingFor('n2'), 1);
  t.equal(await store.remove('n2', 2), 1);
  t.same(store.pendingOwners(), ['n3']);
  t.match(store.stats(), { pendingHints: 3, pendingBytes: 3 * hintSize(2, 2, 2) });
  await store.close();
});

t.test('the store stays under its bound by dropping the oldest hints, with a log line', async (t) => {
  const size = hintSize(2, 4, 100);
  const logger = recordingLogger();
  const store = await HintStore.open(DIR, { fs: new MemFileSystem(), maxBytes: size * 10, logger });
  const owners = ['n1', 'n2', 'n3'];
  for (let i = 0; i < 25; i++) {
    await store.add(owners[i % 3]!, b(`k${String(i).padStart(3, '0')}`), Buffer.alloc(100, i));
    t.ok(store.stats().pendingBytes <= size * 10, `under the bound after add ${i}`);
  }
  t.match(store.stats(), { pendingHints: 10, pendingBytes: size * 10, dropped: 15 });
  const kept = (await Promise.all(owners.map((o) => all(store, o)))).flat().map((h) => h.seq).sort((a, c) => a - c);
  t.same(kept, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24], 'the newest ten survive');
  t.equal(logger.lines.length, 15, 'one log line per add that dropped');
  t.match(logger.lines[0], { msg: /dropped the 1 oldest hints/, fields: { dropped: 1, owners: { n1: 1 } } });

  // A bigger hint makes room by dropping as many old ones as it needs, of several owners.
  await store.add('n9', b('big'), Buffer.alloc(400)); // 437 bytes accounted: four of 138 make room
  const last = logger.lines.at(-1);
  t.match(last?.fields, { dropped: 4, owners: { n1: 2, n2: 1, n3: 1 } });
  t.ok(store.stats().pendingBytes <= size * 10);
  await t.rejects(store.add('n1', b('k'), Buffer.alloc(size * 10)), { code: 'CLUSTER_BAD_HINT', message: /does not fit/ });
  await store.close();
});

t.test('hints, totals and sequence numbers survive a restart', async (t) => {
  const fs = new MemFileSystem();
  let store = await HintStore.open(DIR, { fs });
  for (let i = 0; i < 5; i++) await store.add('n2', b(`k${i}`), b(`v${i}`));
  await store.remove('n2', 0, 1);
  const before = store.stats();
  await store.close();
  store = await HintStore.open(DIR, { fs });
  t.same(store.stats(), before);
  t.same(view(await all(store, 'n2')), ['2:k2=v2', '3:k3=v3', '4:k4=v4']);
  await store.remove('n2', 2, 3, 4);
  await store.close();
  store = await HintStore.open(DIR, { fs });
  t.equal(store.stats().pendingHints, 0);
  t.equal(await store.add('n2', b('k'), b('v')), 5, 'a seq is never reused, even when every hint was removed');
  await store.close();
});

t.test('a crash never loses an add() that resolved', async (t) => {
  const rng = new Rng(21);
  const fs = new MemFileSystem();
  const durable = new Map<number, string>(); // seq → "owner/key" of every resolved add not removed since
  let store = await HintStore.open(DIR, { fs });
  for (let round = 0; round < 12; round++) {
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const owner = `n${rng.int(4)}`;
      const key = `r${round}-${i}`;
      const p = store.add(owner, b(key), rng.bytes(rng.int(64))).then((seq) => durable.set(seq, `${owner}/${key}`));
      if (rng.chance(0.6)) await p;
      else inFlight.push(p.catch(() => undefined));
      if (rng.chance(0.1) && durable.size > 0) {
        const [seq, name] = [...durable][rng.int(durable.size)]!;
        const removed = store.remove(name.split('/')[0]!, seq).then(() => durable.delete(seq));
        await removed;
      }
    }
    fs.crash();
    await Promise.all(inFlight);
    store = await HintStore.open(DIR, { fs });
    const found = new Map<number, string>();
    for (const owner of store.pendingOwners()) for (const h of await all(store, owner)) found.set(h.seq, `${owner}/${h.key.toString()}`);
    const lost = [...durable].filter(([seq, name]) => found.get(seq) !== name);
    t.same(lost, [], `round ${round}: every resolved add is there`);
    t.equal(store.stats().pendingHints, found.size, 'the totals match what is stored');
    for (const [seq, name] of found) durable.set(seq, name); // in-flight adds that made it are durable now
  }
  await store.close();
});

t.test('the stored bytes are the documented layout (HINTS.md worked example)', async (t) => {
  const fs = new MemFileSystem();
  const store = await HintStore.open(DIR, { fs });
  for (let i = 0; i < 5; i++) await store.add('n1', b('x'), b('y'));
  t.equal(await store.add('n2', b('k'), b('v1')), 5);
  await store.close();
  const db = await DB.open(DIR, { fs });
  const hex = async (k: string): Promise<string | undefined> => (await db.get(Buffer.from(k.replace(/ /g, ''), 'hex')))?.toString('hex');
  t.equal(await hex('6D'), '4d445348494e540000000001', 'magic record');
  t.equal(await hex('73'), '0000000000000006', 'next sequence number');
  t.equal(await hex('68 0002 6E32 0000000000000005'), '000000016b7631', 'the hint');
  t.equal(await hex('6F 0000000000000005'), '00026e3200000025', 'its age-order entry, 37 bytes accounted');
  await db.close();
});

t.test('bad input and damaged stores get typed errors', async (t) => {
  const fs = new MemFileSystem();
  const store = await HintStore.open(DIR, { fs });
  await t.rejects(store.add('', b('k'), b('v')), { code: 'CLUSTER_BAD_HINT' });
  await t.rejects(store.add('x'.repeat(1025), b('k'), b('v')), { code: 'CLUSTER_BAD_HINT' });
  await t.rejects(store.add('n1', 'k' as unknown as Buffer, b('v')), { code: 'CLUSTER_BAD_HINT' });
  await t.rejects(store.remove('n1', -1), { code: 'CLUSTER_BAD_HINT' });
  await t.rejects(HintStore.open('/other', { fs, maxBytes: 0 }), { code: 'CLUSTER_BAD_HINT' });
  await store.close();
  await t.rejects(store.add('n1', b('k'), b('v')), { code: 'CLUSTER_HINTS_CLOSED' });

  async function tampered(edit: (batch: WriteBatch) => void): Promise<unknown> {
    const f = new MemFileSystem();
    await (await HintStore.open(DIR, { fs: f })).close();
    const db = await DB.open(DIR, { fs: f });
    const batch = new WriteBatch();
    edit(batch);
    await db.write(batch, { sync: true });
    await db.close();
    return HintStore.open(DIR, { fs: f });
  }
  await t.rejects(tampered((x) => x.put(b('m'), b('MDSHINT\0\0\0\0\x02'))), { code: 'CLUSTER_HINTS_VERSION', version: 2 });
  await t.rejects(tampered((x) => x.put(b('m'), b('nope'))), { code: 'CLUSTER_HINTS_CORRUPT' });
  await t.rejects(tampered((x) => x.del(b('s'))), { code: 'CLUSTER_HINTS_CORRUPT', message: /sequence counter/ });
  await t.rejects(tampered((x) => x.put(Buffer.from('6f0000000000000009', 'hex'), Buffer.from('00026e3200000025', 'hex'))), {
    code: 'CLUSTER_HINTS_CORRUPT',
    message: /beyond the sequence counter/,
  });
  const foreign = new MemFileSystem();
  const db = await DB.open(DIR, { fs: foreign });
  await db.put(b('hello'), b('world'), { sync: true });
  await db.close();
  await t.rejects(HintStore.open(DIR, { fs: foreign }), { code: 'CLUSTER_HINTS_CORRUPT', message: /no magic record/ });
});
