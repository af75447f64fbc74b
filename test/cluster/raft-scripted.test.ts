import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runScript } from './raft-sim/script.js';

// The scripts live in the source tree (tests run from dist/). RAFT_REWRITE=1 regenerates their outputs.
const dir = fileURLToPath(new URL('../../../test/cluster/raft-sim/testdata/', import.meta.url));
const rewrite = process.env.RAFT_REWRITE === '1';

for (const name of ['election', 'backtracking', 'checkquorum', 'rules', 'snapshot', 'learner', 'remove-leader', 'transfer', 'confchange']) {
  t.test(`scripted: ${name}`, (t) => {
    for (const b of runScript(`${dir}${name}.txt`, rewrite)) {
      t.equal(b.actual, b.expected, `${name}.txt:${b.line}: ${b.command}`);
    }
    t.end();
  });
}
