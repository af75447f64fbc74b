import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ALL_RPC_ERRORS, Status } from '../../rpc/errors.js';
import { Methods } from '../../rpc/methods.js';

// Tests run from dist/test/rpc/; the document lives in the source tree.
const doc = readFileSync(fileURLToPath(new URL('../../../rpc/PROTOCOL.md', import.meta.url)), 'utf8');

t.test('every error class has a stable code, and PROTOCOL.md documents it', (t) => {
  t.ok(ALL_RPC_ERRORS.length >= 15);
  for (const Cls of ALL_RPC_ERRORS) {
    const err = new Cls('probe');
    t.match(err.code, /^RPC_[A-Z_]+$/, `${Cls.name} has a stable code`);
    t.ok(doc.includes(`\`${err.code}\``), `${err.code} is documented`);
    t.ok(doc.includes(`\`${Cls.name}\``), `${Cls.name} is named`);
  }
  t.end();
});

t.test('every wire status is documented with its number', (t) => {
  for (const [name, value] of Object.entries(Status)) {
    if (typeof value !== 'number') continue;
    t.match(doc, new RegExp(`\\| ${value} \\| ${name} \\|`), `status ${value} ${name}`);
  }
  t.end();
});

t.test('every method id is documented', (t) => {
  for (const m of Object.values(Methods)) {
    t.match(doc, new RegExp(`\\| ${m.id} \\| ${m.name} \\|`), `method ${m.id} ${m.name}`);
  }
  t.end();
});
