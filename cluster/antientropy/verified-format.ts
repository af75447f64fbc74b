/**
 * The verified-ranges file (DATA/antientropy/VERIFIED): per partition this node replicates, the epoch
 * through which anti-entropy has compared and repaired it with every live replica. ANTIENTROPY.md
 * mirrors this layout. All integers big-endian.
 *
 *   offset      size  field
 *   0           4     magic 0x4d445654 ("MDVT")
 *   4           2     version (1)
 *   6           4     n = number of entries
 *   10          12·n  entries, partition ascending: partition u32, verifiedThrough u64
 *   10+12n      4     crc32c of bytes [0, 10+12n)
 *
 * Worked example, partitions 3 → epoch 7 and 9 → epoch 260 (38 bytes):
 *
 *   4d 44 56 54  00 01  00 00 00 02
 *   00 00 00 03  00 00 00 00 00 00 00 07
 *   00 00 00 09  00 00 00 00 00 00 01 04
 *   <crc32c of the 34 bytes above>
 *
 * Pure: no I/O. A partition missing from the file has verifiedThrough 0 (nothing verified).
 */
import { crc32c } from '../../lsm/crc32c.js';
import { VerifiedFileCorruptError } from './service-errors.js';

export const VERIFIED_MAGIC = 0x4d445654; // "MDVT"
export const VERIFIED_VERSION = 1;
const HEADER_BYTES = 10;
const ENTRY_BYTES = 12;
const CRC_BYTES = 4;
/** Partitions are at most 65,536 (cluster config), so a file has at most that many entries. */
export const MAX_VERIFIED_ENTRIES = 65_536;

export function encodeVerified(markers: ReadonlyMap<number, number>): Uint8Array {
  const entries = [...markers].filter(([, e]) => e > 0).sort((a, b) => a[0] - b[0]);
  const out = new Uint8Array(HEADER_BYTES + ENTRY_BYTES * entries.length + CRC_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, VERIFIED_MAGIC);
  view.setUint16(4, VERIFIED_VERSION);
  view.setUint32(6, entries.length);
  let at = HEADER_BYTES;
  for (const [partition, epoch] of entries) {
    view.setUint32(at, partition);
    view.setBigUint64(at + 4, BigInt(epoch));
    at += ENTRY_BYTES;
  }
  view.setUint32(at, crc32c(out, 0, 0, at));
  return out;
}

export function decodeVerified(bytes: Uint8Array): Map<number, number> {
  if (bytes.length < HEADER_BYTES + CRC_BYTES) throw new VerifiedFileCorruptError(`file of ${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== VERIFIED_MAGIC) throw new VerifiedFileCorruptError(`bad magic 0x${magic.toString(16)}`);
  const version = view.getUint16(4);
  if (version !== VERIFIED_VERSION) throw new VerifiedFileCorruptError(`unknown version ${version}`);
  const n = view.getUint32(6);
  if (n > MAX_VERIFIED_ENTRIES || bytes.length !== HEADER_BYTES + ENTRY_BYTES * n + CRC_BYTES) {
    throw new VerifiedFileCorruptError(`${n} entries do not fit a file of ${bytes.length} bytes`);
  }
  const end = HEADER_BYTES + ENTRY_BYTES * n;
  if (view.getUint32(end) !== crc32c(bytes, 0, 0, end)) throw new VerifiedFileCorruptError('checksum mismatch');
  const out = new Map<number, number>();
  let last = -1;
  for (let at = HEADER_BYTES; at < end; at += ENTRY_BYTES) {
    const partition = view.getUint32(at);
    const epoch = view.getBigUint64(at + 4);
    if (partition <= last) throw new VerifiedFileCorruptError('partitions are not in ascending order');
    if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw new VerifiedFileCorruptError(`epoch ${epoch} of partition ${partition} is out of range`);
    out.set(partition, Number(epoch));
    last = partition;
  }
  return out;
}
