/** requestIdOf (http/request-id.ts): the caller's X-Request-Id when it is a plausible id, else a fresh one. */
import t from 'tap';
import { requestIdOf } from '../../http/request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('a plausible id is kept, so a request can be followed from the caller into the log', (t) => {
  t.equal(requestIdOf('req-42'), 'req-42');
  t.equal(requestIdOf('0af7651916cd43dd8448eb211c80319c'), '0af7651916cd43dd8448eb211c80319c');
  t.equal(requestIdOf(['first', 'second']), 'first', 'a repeated header: the first');
  t.end();
});

t.test('none, empty, too long, or with spaces or control characters: a fresh UUID, different each time', (t) => {
  for (const bad of [undefined, '', 'x'.repeat(129), 'two words', 'line\nbreak', 'ünicode']) t.match(requestIdOf(bad), UUID, JSON.stringify(bad));
  t.not(requestIdOf(undefined), requestIdOf(undefined));
  t.end();
});
