/**
 * Golden bytes of the SSTable format (lsm/table/format.ts, lsm/FORMAT.md "SSTable"): a change to any
 * of these is a change of the durable format and needs a new format version.
 */
import t from 'tap';
import { bytewiseComparator } from '../../lsm/comparator.js';
import { CorruptionError } from '../../lsm/errors.js';
import {
  decodeBlockHandle,
  decodeFooter,
  encodeBlockHandle,
  encodeFooter,
  FOOTER_SIZE,
  readBlock,
} from '../../lsm/table/format.js';
import { Table } from '../../lsm/table/table.js';
import { TableBuilder } from '../../lsm/table/table-builder.js';
import { MemRandomAccessFile, MemWritableFile } from './fs-for-tests.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('the footer of the worked example in format.ts', (t) => {
  const footer = encodeFooter({ metaindex: { offset: 4200, size: 30 }, index: { offset: 4235, size: 61 } });
  t.equal(footer.length, FOOTER_SIZE);
  t.equal(
    footer.toString('hex'),
    hex(`e8 20 1e 8b 21 3d ${'00 '.repeat(34)} 01 00 00 00 40 a5 5a 04 f1 4d 44 53 53 54 0d 0a`).toString('hex'),
  );
  t.same(decodeFooter(footer), { metaindex: { offset: 4200, size: 30 }, index: { offset: 4235, size: 61 } });
  const crc = Buffer.from(footer);
  crc[10] = 1; // padding is covered by the checksum
  t.throws(() => decodeFooter(crc, 'f', 9), { name: 'CorruptionError', message: /checksum/, file: 'f', offset: 9 });
  t.end();
});

t.test('block handles are two varints', (t) => {
  t.equal(encodeBlockHandle({ offset: 0, size: 33 }).toString('hex'), '0021');
  t.equal(encodeBlockHandle({ offset: 2 ** 40, size: 300 }).length, 6 + 2);
  t.same(decodeBlockHandle(encodeBlockHandle({ offset: 2 ** 40 + 5, size: 300 })), { offset: 2 ** 40 + 5, size: 300 });
  t.throws(() => decodeBlockHandle(hex('80')), CorruptionError);
  t.end();
});

// The two-entry table of lsm/FORMAT.md ("SSTable"), byte for byte.
const GOLDEN = hex(`
  00 05 03 61 70 70 6c 65 72 65 64 02 05 06 72 69 63 6f 74 6f 72 61 6e 67 65 00 00 00 00 01 00 00
  00 00 e0 7f d9 92
  08 01 11 00 23 10 45 11 07 00 85 eb d0 70
  00 19 02 66 69 6c 74 65 72 2e 6d 79 64 61 74 61 73 74 6f 72 65 2e 62 6c 6f 6f 6d 31 26 09
  00 00 00 00 01 00 00 00 00 dc e3 0a 8a
  00 07 02 61 70 72 69 63 6f 74 00 21 00 00 00 00 01 00 00 00 00 55 ac 6f 62
  34 26 5f 14 ${'00 '.repeat(36)} 01 00 00 00 6d 77 59 da f1 4d 44 53 53 54 0d 0a`);

t.test('the worked example table of lsm/FORMAT.md', async (t) => {
  const file = new MemWritableFile();
  const b = new TableBuilder(file, { comparator: bytewiseComparator });
  b.add(Buffer.from('apple'), Buffer.from('red'));
  b.add(Buffer.from('apricot'), Buffer.from('orange'));
  await b.finish();
  t.equal(file.contents().toString('hex'), GOLDEN.toString('hex'));
  t.equal(GOLDEN.length, 176);

  const table = await Table.open(new MemRandomAccessFile(GOLDEN), 'golden.sst', { comparator: bytewiseComparator });
  t.same(table.footer, { metaindex: { offset: 52, size: 38 }, index: { offset: 95, size: 20 } });
  t.equal(table.get(Buffer.from('apricot'))?.value.toString(), 'orange');
  t.ok(table.filter?.equals(hex('08 01 11 00 23 10 45 11 07')));
  const raw = new MemRandomAccessFile(GOLDEN);
  t.equal(readBlock(raw, { offset: 0, size: 33 }, { verifyChecksums: true }).length, 33);
  t.throws(() => readBlock(raw, { offset: 150, size: 30 }, { verifyChecksums: true, fileName: 'g' }), {
    name: 'CorruptionError',
    message: /past end of file/,
    file: 'g',
    offset: 150,
  });
  const typed = Buffer.from(GOLDEN);
  typed[33] = 2; // compression type 2 with a matching CRC: an unknown codec, not a checksum error
  const crcOff = 34;
  const { crc32c, maskCrc } = await import('../../lsm/crc32c.js');
  typed.writeUInt32LE(maskCrc(crc32c(typed, 0, 0, 34)), crcOff);
  t.throws(() => readBlock(new MemRandomAccessFile(typed), { offset: 0, size: 33 }, { verifyChecksums: true }), /compression type 2/);
});
