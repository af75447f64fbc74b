/**
 * The storage side of streaming: ReplicaStore.scanPartitionAllEpochs walks one partition across every
 * epoch (seeking over the other partitions' entries), resumes after any (epoch, key), and dropPartition
 * deletes exactly one partition (stopping when told); readPage pages under a byte budget with resume
 * tokens that cover everything once, and refuses bad budgets with CLUSTER_BAD_STREAM_REQUEST.
 */
import t, { type Test } from 'tap';
import { StreamRequestError } from '../../cluster/streaming/errors.js';
import { readPage } from '../../cluster/streaming/responder.js';
import { encodeRecord, type StoredRecord } from '../../cluster/storage/record.js';
import { ReplicaStore } from '../../cluster/storage/replica-store.js';
import { MemFileSystem } from '../../lsm/index.js';
import { Rng } from '../support/rng.js';

const rec = (epoch: number, partition: number, value: string, ms = 1000): StoredRecord => ({
  value: Buffer.from(value),
  timestamp: { physicalMs: ms, logical: 0, node: 'c' },
  epoch,
  partition,
  tombstone: false,
});

async function loaded(t: Test): Promise<{ store: ReplicaStore; model: Map<string, { epoch: number; partition: number }> }> {
  const store = await ReplicaStore.open('/s', { fs: new MemFileSystem() });
  t.teardown(() => store.close());
  const rng = new Rng(5);
  const model = new Map<string, { epoch: number; partition: number }>();
  for (let i = 0; i < 600; i++) {
    // Partitions 0..5 (the test does not need the hash placement), epochs sparse in 1..40, some keys rewritten later.
    const key = `k${rng.int(400)}`;
    const partition = Number(key.slice(1)) % 6;
    const epoch = 1 + rng.int(40);
    const old = model.get(key);
    const e = old === undefined ? epoch : Math.max(old.epoch, epoch);
    await store.apply(Buffer.from(key), rec(e, partition, `${key}@${e}`, 1000 + i));
    model.set(key, { epoch: e, partition });
  }
  return { store, model };
}

t.test('scanPartitionAllEpochs: every key of the partition once, in (epoch, key) order; resumes anywhere', async (t) => {
  const { store, model } = await loaded(t);
  for (let p = 0; p < 7; p++) {
    const want = [...model].filter(([, v]) => v.partition === p).map(([k, v]) => [v.epoch, k] as const);
    want.sort((a, b) => a[0] - b[0] || Buffer.compare(Buffer.from(a[1]), Buffer.from(b[1])));
    const got: (readonly [number, string])[] = [];
    for await (const { key, epoch, record, encoded } of store.scanPartitionAllEpochs(p)) {
      got.push([epoch, key.toString()]);
      if (record.partition !== p || record.epoch !== epoch) t.fail(`record ${key.toString()} in the wrong place`);
      if (!encoded.equals(encodeRecord(record))) t.fail(`record ${key.toString()}: its stored bytes are not its encoding`);
    }
    t.same(got, want, `partition ${p}: ${want.length} keys`);
    // Resume after every 7th entry, limit 5: pages cover it exactly once.
    if (want.length > 0) {
      const paged: (readonly [number, string])[] = [];
      let after: { epoch: number; key: Uint8Array } | undefined;
      for (;;) {
        const page: (readonly [number, string])[] = [];
        for await (const { key, epoch } of store.scanPartitionAllEpochs(p, { limit: 5, ...(after ? { after } : {}) })) page.push([epoch, key.toString()]);
        if (page.length === 0) break;
        paged.push(...page);
        const last = page[page.length - 1]!;
        after = { epoch: last[0], key: Buffer.from(last[1]) };
      }
      t.same(paged, want, `partition ${p}: resumed pages`);
    }
  }
});

t.test('dropPartition deletes one partition, all epochs, and stops when asked', async (t) => {
  const { store, model } = await loaded(t);
  const count = async (p: number): Promise<number> => {
    let n = 0;
    for await (const _ of store.scanPartitionAllEpochs(p)) n++;
    return n;
  };
  const before = [0, 1, 2, 3, 4, 5].map((p) => [...model.values()].filter((v) => v.partition === p).length);
  let wantBytes = 0;
  for (const [k, v] of model) if (v.partition === 2) wantBytes += Buffer.byteLength(k) + encodeRecord((await store.get(Buffer.from(k)))!).length;
  const r = await store.dropPartition(2, { batchSize: 16 });
  t.same({ keys: r.keys, stopped: r.stopped }, { keys: before[2], stopped: false });
  t.equal(r.bytes, wantBytes, 'bytes: keys plus encoded records');
  t.equal(await count(2), 0, 'partition 2 is empty');
  t.same(await Promise.all([0, 1, 3, 4, 5].map(count)), [0, 1, 3, 4, 5].map((p) => before[p]), 'the others are untouched');
  const k = [...model].find(([, v]) => v.partition === 2)![0];
  t.equal(await store.get(Buffer.from(k)), undefined, 'the primary record is gone too');
  let calls = 0;
  const stopped = await store.dropPartition(3, { batchSize: 10, stop: () => ++calls > 2 });
  t.same({ keys: stopped.keys, stopped: stopped.stopped }, { keys: 20, stopped: true }, 'two batches, then told to stop');
  t.equal(await count(3), before[3]! - 20);
});

t.test('readPage: pages under the budget, resume tokens, done; bad budgets refused', async (t) => {
  const { store, model } = await loaded(t);
  const want = [...model].filter(([, v]) => v.partition === 1).length;
  const seen = new Set<string>();
  let resume: { epoch: number; key: Uint8Array } | undefined;
  let pages = 0;
  for (;;) {
    const page = await readPage(store, 1, resume, 1024);
    pages++;
    t.ok(page.bytes <= 1024 || page.records.length === 1, 'within the budget');
    for (const r of page.records) {
      if (seen.has(Buffer.from(r.key).toString())) t.fail('a key came twice');
      seen.add(Buffer.from(r.key).toString());
    }
    if (page.done) break;
    resume = page.resume;
  }
  t.equal(seen.size, want, `${want} keys in ${pages} pages`);
  t.ok(pages > 1);
  await t.rejects(readPage(store, 1, undefined, 10), StreamRequestError);
  await t.rejects(readPage(store, 1, undefined, 5 * 1024 * 1024), { code: 'CLUSTER_BAD_STREAM_REQUEST' });
});
