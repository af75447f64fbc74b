import t from 'tap';
import { mydatastore } from '../../proto/gen/messages.js';
import {
  ConsistencyError,
  LEVEL_ALL,
  LEVEL_DEFAULT,
  LEVEL_ONE,
  LEVEL_QUORUM,
  checkDefaults,
  quorumOf,
  resolveConsistency,
  resolveRead,
  resolveWrite,
  type ConsistencyInput,
} from '../../cluster/consistency.js';

const { Consistency, Level } = mydatastore.client;

t.test('the level numbers match client.proto', (t) => {
  t.equal(LEVEL_DEFAULT, Level.DEFAULT);
  t.equal(LEVEL_ONE, Level.ONE);
  t.equal(LEVEL_QUORUM, Level.QUORUM);
  t.equal(LEVEL_ALL, Level.ALL);
  t.end();
});

t.test('QUORUM is a majority of N', (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7].map(quorumOf), [1, 2, 2, 3, 3, 4, 4]);
  t.end();
});

t.test('valid requests resolve to a replica count', (t) => {
  // [input, N, default, expected]
  const table: [ConsistencyInput, number, number, number][] = [
    [undefined, 3, 2, 2],
    [null, 3, 2, 2],
    [{}, 3, 2, 2],
    [{ named: Level.DEFAULT }, 3, 1, 1],
    [{ named: Level.ONE }, 3, 2, 1],
    [{ named: Level.QUORUM }, 3, 2, 2],
    [{ named: Level.QUORUM }, 5, 2, 3],
    [{ named: Level.ALL }, 3, 2, 3],
    [{ named: Level.ALL }, 1, 1, 1],
    [{ count: 1 }, 3, 2, 1],
    [{ count: 3 }, 3, 2, 3],
    [{ level: 'count', count: 2 }, 5, 2, 2],
    [{ level: 'named', named: Level.ONE }, 5, 3, 1],
    [1, 3, 2, 1],
    [3, 3, 2, 3],
    ['ONE', 3, 2, 1],
    ['quorum', 3, 1, 2],
    ['All', 4, 1, 4],
    ['default', 3, 3, 3],
    ['2', 3, 1, 2],
  ];
  for (const [input, n, dflt, want] of table) {
    t.equal(resolveConsistency(input, n, dflt), want, `${JSON.stringify(input)} with N=${n}, default ${dflt}`);
  }
  t.end();
});

t.test('a decoded protobuf Consistency resolves like the object it was made from', (t) => {
  const roundTrip = (p: mydatastore.client.Consistency.$Properties): mydatastore.client.Consistency =>
    Consistency.decode(Consistency.encode(Consistency.create(p)).finish());
  t.equal(resolveConsistency(roundTrip({ named: Level.ALL }), 3, 2), 3);
  t.equal(resolveConsistency(roundTrip({ count: 1 }), 3, 2), 1);
  t.equal(resolveConsistency(roundTrip({}), 3, 2), 2, 'an empty message is DEFAULT');
  t.end();
});

t.test('invalid requests get CLUSTER_BAD_CONSISTENCY with a message naming the problem', (t) => {
  // [input, N, default, message fragment]
  const table: [ConsistencyInput, number, number, RegExp][] = [
    [0, 3, 2, /at least 1/],
    [4, 3, 2, /is 4 but only N=3/],
    [-1, 3, 2, /at least 1/],
    [1.5, 3, 2, /integer/],
    [Number.NaN, 3, 2, /integer/],
    [{ count: 0 }, 3, 2, /at least 1/],
    [{ count: 7 }, 3, 2, /only N=3/],
    [{ level: 'count', count: 0 }, 3, 2, /at least 1/],
    [{ named: 9 as mydatastore.client.Level }, 3, 2, /unknown consistency level 9/],
    [{ named: Level.ONE, count: 2 }, 3, 2, /not both/],
    ['MOST', 3, 2, /unknown consistency "MOST"/],
    ['', 3, 2, /unknown consistency/],
    ['0', 3, 2, /at least 1/],
    ['4', 3, 2, /only N=3/],
    [undefined, 3, 5, /default consistency is 5/],
    [undefined, 3, 0, /default consistency must be at least 1/],
    [{ named: Level.ONE }, 0, 2, /replication factor/],
    [true as unknown as ConsistencyInput, 3, 2, /must be a Consistency message/],
  ];
  for (const [input, n, dflt, message] of table) {
    t.throws(() => resolveConsistency(input, n, dflt), { name: 'ConsistencyError', code: 'CLUSTER_BAD_CONSISTENCY', message }, `${String(JSON.stringify(input))}, N=${n}`);
  }
  t.ok(new ConsistencyError('x') instanceof Error);
  t.end();
});

t.test('R and W: defaults come from the configuration, capped by N; explicit counts are not', (t) => {
  const cfg = checkDefaults({ n: 3, r: 2, w: 2 });
  t.equal(resolveRead(undefined, 3, cfg), 2);
  t.equal(resolveWrite({ named: Level.ALL }, 3, cfg), 3);
  t.equal(resolveRead(undefined, 1, cfg), 1, 'a one-member cluster (N capped to 1) still serves default reads');
  t.equal(resolveWrite('QUORUM', 1, cfg), 1);
  t.throws(() => resolveWrite(2, 1, cfg), { code: 'CLUSTER_BAD_CONSISTENCY', message: /W is 2 but only N=1/ });
  t.throws(() => resolveRead({ count: 0 }, 3, cfg), { message: /R must be at least 1/ });
  t.throws(() => checkDefaults({ n: 3, r: 4, w: 2 }), { code: 'CLUSTER_BAD_CONSISTENCY', message: /default R/ });
  t.throws(() => checkDefaults({ n: 3, r: 2, w: 0 }), { code: 'CLUSTER_BAD_CONSISTENCY', message: /default W/ });
  t.end();
});
