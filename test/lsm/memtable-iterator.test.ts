import t from 'tap';
import { InternalKeyComparator, KIND_VALUE, makeInternalKey, parseInternalKey } from '../../lsm/dbformat.js';
import { Memtable } from '../../lsm/memtable.js';
import { iteratorSuite } from './iterator-suite.js';

// The shared iterator conformance suite over the memtable's internal-key iterator. Keys get varied
// sequence numbers so that the trailer is part of every comparison (all are puts: a deletion keeps no
// value, which the suite would see as a mismatch).
const comparator = new InternalKeyComparator();
const mapKey = (k: Buffer): Buffer => makeInternalKey(k, (k.length * 7919 + (k[0] ?? 0)) % 1000, KIND_VALUE);

iteratorSuite(
  t,
  'memtable',
  (entries) => {
    const m = new Memtable(comparator);
    // Insert in a scrambled order: the skiplist must sort them.
    const order = entries.map((_, i) => i).sort((a, b) => ((a * 2654435761) % 1009) - ((b * 2654435761) % 1009));
    for (const i of order) {
      const e = entries[i]!;
      const p = parseInternalKey(e.key);
      m.add(p.sequence, p.kind, p.userKey, e.value);
    }
    return m.iterator();
  },
  comparator,
  { mapKey },
);
