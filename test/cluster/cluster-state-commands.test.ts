import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Long from 'long';
import t from 'tap';
import { mydatastore } from '../../proto/gen/messages.js';
import { type ClusterCommand, decodeCommand, describeCommand, encodeCommand } from '../../cluster/state/commands.js';
import { ClusterCommandError, ClusterSnapshotError } from '../../cluster/state/errors.js';
import {
  RaftStorageClosedError,
  RaftStorageCorruptError,
  RaftStorageVersionError,
  RaftStorageWriteError,
} from '../../cluster/raft/storage.js';
import { Rng } from '../support/rng.js';

const valid: ClusterCommand[] = [
  { type: 'add-member', id: 'n1', address: '127.0.0.1:7001', zone: '' },
  { type: 'add-member', id: 'nœud-2', address: '[::1]:7002', zone: 'eu-west-1a' },
  { type: 'set-member-status', id: 'n1', status: 'leaving' },
  { type: 'set-member-status', id: 'n1', status: 'removed' },
  { type: 'set-config', config: { partitions: 256, replicas: 3, readQuorum: 2, writeQuorum: 2 } },
  { type: 'set-config', config: { partitions: 65536, replicas: 5, readQuorum: 1, writeQuorum: 5 } },
  { type: 'increment-epoch', to: 1 },
  { type: 'increment-epoch', to: Number.MAX_SAFE_INTEGER },
  { type: 'stream-done', id: 'n4', transition: 3 },
  { type: 'finish-transition', transition: Number.MAX_SAFE_INTEGER },
];

t.test('every command survives encode → decode unchanged', (t) => {
  for (const c of valid) t.same(decodeCommand(encodeCommand(c)), c, describeCommand(c));
  t.end();
});

t.test('the worked examples of cluster/state/FORMAT.md are the real bytes', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../cluster/state/FORMAT.md', import.meta.url)), 'utf8');
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
  const epoch = hex(encodeCommand({ type: 'increment-epoch', to: 7 }));
  t.equal(epoch, '08 01 2A 02 08 07');
  const add = hex(encodeCommand({ type: 'add-member', id: 'n1', address: 'h:1', zone: '' }));
  t.ok(doc.includes(add), `FORMAT.md shows ${add}`);
  const done = hex(encodeCommand({ type: 'stream-done', id: 'n4', transition: 3 }));
  t.ok(doc.includes(done), `FORMAT.md shows ${done}`);
  t.throws(() => encodeCommand({ type: 'stream-done', id: 'n4', transition: 0 }), { code: 'CLUSTER_BAD_COMMAND' }, 'transition 0 is never a transition');
  t.end();
});

t.test('encodeCommand refuses what the state machine could never accept', (t) => {
  const bad: unknown[] = [
    { type: 'add-member', id: '', address: 'a:1', zone: '' },
    { type: 'add-member', id: 'n1', address: '', zone: '' },
    { type: 'add-member', id: 'x'.repeat(1025), address: 'a:1', zone: '' },
    { type: 'set-member-status', id: 'n1', status: 'active' },
    { type: 'set-config', config: { partitions: 256, replicas: 3, readQuorum: 4, writeQuorum: 2 } },
    { type: 'set-config', config: { partitions: 0, replicas: 3, readQuorum: 2, writeQuorum: 2 } },
    { type: 'set-config', config: { partitions: 256, replicas: 3, readQuorum: 2, writeQuorum: 0 } },
    { type: 'increment-epoch', to: 0 },
    { type: 'increment-epoch', to: 1.5 },
    { type: 'bogus' },
  ];
  for (const c of bad) t.throws(() => encodeCommand(c as ClusterCommand), { code: 'CLUSTER_BAD_COMMAND' }, JSON.stringify(c).slice(0, 60));
  t.end();
});

t.test('decodeCommand rejects well-formed protobuf that is not a valid command', (t) => {
  const pb = mydatastore.ClusterCommand;
  const cases: [string, mydatastore.ClusterCommand.$Properties][] = [
    ['no operation', { version: 1 }],
    ['unknown version', { version: 2, incrementEpoch: { to: Long.fromNumber(2, true) } }],
    ['missing version', { incrementEpoch: { to: Long.fromNumber(2, true) } }],
    ['unspecified status', { version: 1, setMemberStatus: { id: 'a', status: 0 } }],
    ['active is not a target', { version: 1, setMemberStatus: { id: 'a', status: 1 } }],
    ['R above N', { version: 1, setConfig: { partitions: 8, replicas: 1, readQuorum: 2, writeQuorum: 1 } }],
    ['epoch 0', { version: 1, incrementEpoch: {} }],
  ];
  for (const [what, m] of cases) t.throws(() => decodeCommand(pb.encode(m).finish()), { code: 'CLUSTER_BAD_COMMAND' }, what);
  // Two operations on the wire: protobuf's oneof rule, the last one wins, the same on every node.
  const two = pb.encode({ version: 1, addMember: { id: 'a', address: 'b' }, incrementEpoch: { to: Long.fromNumber(2, true) } }).finish();
  t.same(decodeCommand(two), { type: 'increment-epoch', to: 2 }, 'two operations: the last one');
  t.throws(() => decodeCommand(new Uint8Array(0)), { code: 'CLUSTER_BAD_COMMAND' }, 'empty');
  t.throws(() => decodeCommand(new Uint8Array(5000)), { code: 'CLUSTER_BAD_COMMAND' }, 'over the size limit');
  t.end();
});

t.test('fuzz: random and mutated bytes never crash the decoder, only typed errors', (t) => {
  const rng = new Rng(0xc0ffee);
  const encoded = valid.map(encodeCommand);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    let b: Uint8Array;
    if (i % 2 === 0) {
      b = rng.bytes(rng.int(64));
    } else {
      const src = Buffer.from(encoded[rng.int(encoded.length)]!);
      for (let k = 1 + rng.int(3); k > 0; k--) src[rng.int(src.length)] = rng.int(256);
      b = rng.chance(0.2) ? src.subarray(0, rng.int(src.length)) : src;
    }
    try {
      const c = decodeCommand(b);
      decoded++;
      // Whatever decodes is a valid command: it re-encodes and decodes to itself.
      t.same(decodeCommand(encodeCommand(c)), c);
    } catch (err) {
      if (!(err instanceof ClusterCommandError)) t.fail(`untyped error for ${Buffer.from(b).toString('hex')}: ${String(err)}`);
      rejected++;
    }
  }
  t.equal(decoded + rejected, 5000);
  t.ok(rejected > 2500, `most garbage is rejected (${rejected})`);
  t.end();
});

t.test('the error codes of this issue are documented in cluster/ERRORS.md', (t) => {
  const doc = readFileSync(fileURLToPath(new URL('../../../cluster/ERRORS.md', import.meta.url)), 'utf8');
  const errors = [
    new ClusterCommandError('probe'),
    new ClusterSnapshotError('probe'),
    new RaftStorageCorruptError('d', 'probe'),
    new RaftStorageVersionError('d', 9, 1),
    new RaftStorageWriteError('probe'),
    new RaftStorageClosedError(),
  ];
  for (const err of errors) {
    t.match(err.code, /^[A-Z]+_[A-Z_]+$/, `${err.name} has a stable code`);
    t.ok(doc.includes(`| \`${err.code}\` | \`${err.name}\``), `${err.code} (${err.name}) is documented`);
  }
  t.end();
});
