/**
 * The log format shared by the WAL (and usable by the manifest): a sequence of 32 KiB blocks, each
 * holding physical records. A logical record (one write batch) is split into fragments so that no
 * physical record crosses a block boundary; a reader that loses its place can resynchronise at the next
 * block start.
 *
 *   block := record* trailer?                 (trailer: < 7 bytes of 0x00 that cannot hold a header)
 *
 *   record := +---------+-----------+-----------+--- ... ---+
 *             |CRC (4B) | Size (2B) | Type (1B) | Payload   |
 *             +---------+-----------+-----------+--- ... ---+
 *     CRC   masked CRC32C (fixed32 LE) of the type byte followed by the payload
 *     Size  payload length, u16 LE (at most 32768 - 7)
 *     Type  FULL=1 the whole logical record; FIRST=2, MIDDLE=3, LAST=4 its fragments in order;
 *           FILE_HEADER=5 only as the very first record of a file (offset 0)
 *
 * File header: the first record of every log file is a FILE_HEADER record whose 8-byte payload is
 *     magic   fixed32 LE   0x4C57444D for a WAL (the ASCII bytes "MDWL")
 *     version fixed32 LE   1
 * It is written together with the first logical record (one append), so an empty file (created, never
 * written) is a valid empty log. Using a record type of its own rather than raw leading bytes keeps the
 * block arithmetic uniform and puts the magic under a checksum; a reader refuses a wrong magic or a
 * version it does not know, even in salvage mode (that is a wrong file, not a damaged one).
 *
 * Worked example: a new log holding one record with the 3-byte payload "abc" (15 + 10 = 25 bytes):
 *
 *   offset 0   34 dd c0 7b   masked CRC32C of 05 4d 44 57 4c 01 00 00 00
 *              08 00         payload size 8
 *              05            FILE_HEADER
 *              4d 44 57 4c   magic "MDWL"
 *              01 00 00 00   version 1
 *   offset 15  f2 70 e8 9d   masked CRC32C of 01 61 62 63
 *              03 00         payload size 3
 *              01            FULL
 *              61 62 63      "abc"
 *
 * A 40000-byte payload written at offset 25 becomes FIRST (7 + 32736 bytes, filling block 0) and LAST
 * (7 + 7264 bytes) at offset 32768. Had only 1..6 bytes been left in block 0 they would be zeros and the
 * record would start in block 1; with exactly 7 left, a FIRST fragment with an empty payload goes there.
 */
import { crc32c, maskCrc } from '../crc32c.js';

export const BLOCK_SIZE = 32768;
export const HEADER_SIZE = 7;

export const RecordType = {
  /** Never written: a header of zeros is a preallocated or torn region. */
  ZERO: 0,
  FULL: 1,
  FIRST: 2,
  MIDDLE: 3,
  LAST: 4,
  FILE_HEADER: 5,
} as const;
export const MAX_RECORD_TYPE = RecordType.FILE_HEADER;

/** "MDWL" read as a little-endian uint32. */
export const WAL_MAGIC = 0x4c57444d;
export const LOG_VERSION = 1;
export const FILE_HEADER_PAYLOAD_SIZE = 8;

// CRC32C of each single type byte: the record checksum starts from it and extends over the payload.
const TYPE_CRC = new Uint32Array(MAX_RECORD_TYPE + 1);
for (let t = 0; t <= MAX_RECORD_TYPE; t++) TYPE_CRC[t] = crc32c(Uint8Array.of(t));

/** The masked checksum stored in a record header: CRC32C(type byte ‖ buf[start, end)). */
export function recordChecksum(type: number, buf: Uint8Array, start: number, end: number): number {
  return maskCrc(crc32c(buf, TYPE_CRC[type], start, end));
}
