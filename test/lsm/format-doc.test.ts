import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ALL_LSM_ERRORS } from '../../lsm/errors.js';

// Tests run from dist/test/lsm/; the document lives in the source tree.
const doc = fs.readFileSync(fileURLToPath(new URL('../../../lsm/FORMAT.md', import.meta.url)), 'utf8');

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) return '';
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next < 0 ? undefined : next);
}

t.test('FORMAT.md has the required sections', (t) => {
  for (const title of ['Conventions', 'Internal keys', 'Write batch', 'WAL (log files)', 'SSTable', 'Error codes']) {
    t.ok(section(title).length > 0, `section "${title}"`);
  }
  t.end();
});

t.test('every error code of lsm/errors.ts is documented under "Error codes"', (t) => {
  const codes = section('Error codes');
  t.ok(ALL_LSM_ERRORS.length >= 5);
  for (const Cls of ALL_LSM_ERRORS) {
    const err = new Cls('probe');
    t.match(err.code, /^LSM_[A-Z_]+$/, `${Cls.name} has a stable code`);
    t.ok(codes.includes(`\`${err.code}\``), `${err.code} (${Cls.name}) is documented`);
  }
  t.end();
});
