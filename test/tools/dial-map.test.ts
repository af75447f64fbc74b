/** MYDATASTORE_TEST_DIAL_MAP: a map rewrites the addresses it names; anything malformed is a typed error. */
import t from 'tap';
import { DialMapError, dialMapFrom } from '../../tools/dial-map.js';

t.test('a dial map rewrites the addresses it names and leaves the others', (t) => {
  t.equal(dialMapFrom(undefined), undefined, 'unset: no hook');
  t.equal(dialMapFrom('  '), undefined, 'empty: no hook');
  const dial = dialMapFrom('{"127.0.0.1:7002": "127.0.0.1:9002"}')!;
  t.equal(dial('127.0.0.1:7002'), '127.0.0.1:9002');
  t.equal(dial('127.0.0.1:7003'), '127.0.0.1:7003');
  t.end();
});

t.test('malformed maps are refused with DialMapError', (t) => {
  for (const bad of ['{', '[]', '"x"', '{"127.0.0.1:7002": 9002}', '{"nope": "127.0.0.1:1"}', '{"127.0.0.1:7002": "127.0.0.1:99999"}']) {
    t.throws(() => dialMapFrom(bad), DialMapError, bad);
  }
  t.end();
});
