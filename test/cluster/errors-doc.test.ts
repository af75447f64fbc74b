import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { GossipDecodeError } from '../../cluster/membership/codec.js';
import { ClusterMismatchError } from '../../cluster/membership/driver.js';
import { NotLeaderError, RaftDecodeError } from '../../cluster/raft/types.js';

// Tests run from dist/test/cluster/; the document lives in the source tree.
const doc = readFileSync(fileURLToPath(new URL('../../../cluster/ERRORS.md', import.meta.url)), 'utf8');

t.test('every cluster error code is documented in cluster/ERRORS.md', (t) => {
  const errors = [
    new GossipDecodeError('probe'),
    new ClusterMismatchError('ours', 'theirs', 'n1'),
    new NotLeaderError('n2'),
    new RaftDecodeError('probe'),
  ];
  for (const err of errors) {
    t.match(err.code, /^[A-Z]+_[A-Z_]+$/, `${err.name} has a stable code`);
    t.ok(doc.includes(`| \`${err.code}\` | \`${err.name}\``), `${err.code} (${err.name}) is documented`);
  }
  t.end();
});
