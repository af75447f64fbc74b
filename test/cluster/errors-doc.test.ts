import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { GossipDecodeError } from '../../cluster/membership/codec.js';
import { ClusterMismatchError } from '../../cluster/membership/driver.js';
import { NotLeaderError, RaftDecodeError } from '../../cluster/raft/types.js';

// Tests run from dist/test/cluster/; the sources and the document live in the source tree.
const clusterDir = fileURLToPath(new URL('../../../cluster/', import.meta.url));
const doc = readFileSync(join(clusterDir, 'ERRORS.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

t.test('every error code declared under cluster/ is documented in cluster/ERRORS.md', (t) => {
  // Every typed error declares its code as `code = 'SOME_CODE'` (a readonly field or a constructor argument).
  const codes = new Set<string>();
  for (const file of sources(clusterDir)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bcode\s*[=:]\s*'([A-Z]+_[A-Z_]+)'/g)) codes.add(m[1]!);
  }
  t.ok(codes.size >= 4, `found ${codes.size} codes in the sources`);
  for (const code of codes) t.ok(doc.includes(`| \`${code}\` |`), `${code} is documented`);
  t.end();
});

t.test('the documented class names match the classes that carry the codes', (t) => {
  const errors = [new GossipDecodeError('probe'), new ClusterMismatchError('ours', 'theirs', 'n1'), new NotLeaderError('n2'), new RaftDecodeError('probe')];
  for (const err of errors) {
    t.match(err.code, /^[A-Z]+_[A-Z_]+$/, `${err.name} has a stable code`);
    t.ok(doc.includes(`| \`${err.code}\` | \`${err.name}\``), `${err.code} (${err.name}) is documented`);
  }
  t.end();
});
