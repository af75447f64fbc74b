/**
 * A test hook: MYDATASTORE_TEST_DIAL_MAP holds a JSON object mapping peer addresses to the addresses this
 * node should connect to instead ({"127.0.0.1:7002": "127.0.0.1:9102", ...}). The fault-injection
 * harness (test/faults/) gives every node a proxy per peer this way, so it can cut, delay or one-way
 * partition each (node, peer) link. Peers still know each other by their real addresses; only where the
 * bytes go changes. Unset in production; a malformed value stops the node at start with this error.
 */
import { parseAddress } from '../rpc/address.js';

export const DIAL_MAP_VARIABLE = 'MYDATASTORE_TEST_DIAL_MAP';

export class DialMapError extends Error {
  readonly code = 'CONFIG_BAD_DIAL_MAP';
  override readonly name = 'DialMapError';
}

/** The dial function of the map in `text`, or undefined when unset or empty. */
export function dialMapFrom(text: string | undefined): ((address: string) => string) | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DialMapError(`${DIAL_MAP_VARIABLE} is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DialMapError(`${DIAL_MAP_VARIABLE} must be a JSON object of "host:port": "host:port"`);
  }
  const map = new Map<string, string>();
  for (const [from, to] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof to !== 'string') throw new DialMapError(`${DIAL_MAP_VARIABLE}: the address for ${from} must be a string`);
    try {
      parseAddress(from);
      parseAddress(to);
    } catch (err) {
      throw new DialMapError(`${DIAL_MAP_VARIABLE}: ${from} → ${to}: ${(err as Error).message}`);
    }
    map.set(from, to);
  }
  return (address) => map.get(address) ?? address;
}
