/** The register checker on made-up histories: stale and phantom reads are caught, concurrent ones allowed. */
import t from 'tap';
import type { Op } from './history.js';
import { checkRegisters } from './register-checker.js';

const op = (process: number, type: Op['type'], f: Op['f'], value: string | null | undefined, time: number): Op => ({ process, type, f, key: 'k', ...(value === undefined ? {} : { value }), time });

t.test('a read older than the last write acknowledged before it began is stale', (t) => {
  const ops = [
    op(0, 'invoke', 'write', '1', 0), op(0, 'ok', 'write', undefined, 5),
    op(0, 'invoke', 'write', '2', 6), op(0, 'ok', 'write', undefined, 10),
    op(1, 'invoke', 'read', undefined, 11), op(1, 'ok', 'read', '1', 12), // stale: 2 was acked at 10
    op(2, 'invoke', 'read', undefined, 8), op(2, 'ok', 'read', '1', 13), // concurrent with write 2: fine
    op(3, 'invoke', 'read', undefined, 14), op(3, 'ok', 'read', null, 15), // not found after acks: stale
    op(4, 'invoke', 'read', undefined, 16), op(4, 'ok', 'read', '7', 17), // never written: phantom
    op(5, 'invoke', 'read', undefined, 18), op(5, 'ok', 'read', '2', 19),
  ];
  const v = checkRegisters(ops);
  t.equal(v.reads, 5);
  t.equal(v.writesAcknowledged, 2);
  t.same(v.stale.map((s) => [s.got, s.expectedAtLeast]), [[1, 2], [null, 2]]);
  t.same(v.phantoms, [{ key: 'k', got: '7' }]);
  t.end();
});

t.test('a write with an unknown outcome may be read or not', (t) => {
  const ops = [
    op(0, 'invoke', 'write', '1', 0), op(0, 'ok', 'write', undefined, 5),
    op(0, 'invoke', 'write', '2', 6), op(0, 'info', 'write', undefined, 10),
    op(1, 'invoke', 'read', undefined, 11), op(1, 'ok', 'read', '2', 12),
    op(2, 'invoke', 'read', undefined, 13), op(2, 'ok', 'read', '1', 14),
  ];
  const v = checkRegisters(ops);
  t.same(v.stale, []);
  t.same(v.phantoms, []);
  t.end();
});
