/**
 * The unique-writes checker on made-up histories: an acknowledged key a final read misses is lost; one no
 * read reached is never-read, not lost; unknown writes may appear or not; missing owner copies count.
 */
import t from 'tap';
import type { Op } from './history.js';
import { checkUniqueWrites, type FinalRead } from './unique-writes-checker.js';

const w = (key: string, type: Op['type'], time = 0): Op => ({ process: 0, type, f: 'write', key, value: `v-${key}`, time });
const found = (key: string, via = 'n1'): FinalRead => ({ via, value: `v-${key}` });

t.test('an acknowledged write that an R=ALL read does not find is lost', (t) => {
  const ops = [w('a', 'invoke'), w('a', 'ok'), w('b', 'invoke'), w('b', 'ok'), w('c', 'invoke'), w('c', 'ok')];
  const reads = new Map<string, FinalRead[]>([
    ['a', [found('a'), found('a', 'n2')]],
    ['b', [found('b'), { via: 'n2', value: null }]],
    ['c', [{ via: 'n1', value: 'other' }]],
  ]);
  const v = checkUniqueWrites(ops, reads);
  t.same(v.lost, ['b', 'c'], 'not found through one node, or another value: lost');
  t.equal(v.acknowledged, 3);
  t.end();
});

t.test('failed reads say nothing; unknown and failed writes may or may not be there', (t) => {
  const ops = [w('a', 'invoke'), w('a', 'ok'), w('u', 'invoke'), w('u', 'info'), w('f', 'invoke'), w('f', 'fail'), w('p', 'invoke')];
  const reads = new Map<string, FinalRead[]>([
    ['a', [{ via: 'n1', value: undefined }]],
    ['u', [found('u')]],
    ['f', [{ via: 'n1', value: null }]],
    ['p', [found('p')]],
  ]);
  const v = checkUniqueWrites(ops, reads);
  t.same(v.lost, [], 'nothing lost');
  t.same(v.neverRead, ['a'], 'an acknowledged key whose every read failed is never-read');
  t.equal(v.unknown, 2, 'info and still-pending writes are unknown');
  t.equal(v.failed, 1);
  t.equal(v.appearedUnacknowledged, 2, 'the unknown writes that were applied');
  t.end();
});

t.test('owner copies missing after convergence are counted', (t) => {
  const ops = [w('a', 'invoke'), w('a', 'ok')];
  const v = checkUniqueWrites(ops, new Map([['a', [found('a')]]]), new Map([['a', { owners: 3, holding: 2 }]]));
  t.equal(v.missingCopies, 1);
  t.end();
});
