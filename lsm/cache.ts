/**
 * An LRU cache bounded by total charge: bytes for the block cache, 1 per entry for the table cache.
 *
 * Keys are pairs of numbers (namespace, key): the block cache uses (table cacheId, block offset), the
 * table cache (0, file number). Two nested Maps with small-integer keys make a lookup allocation-free,
 * where a composed string key would allocate on every block read; a whole namespace (the blocks of a
 * deleted table) can be dropped at once.
 *
 * Recency is an intrusive doubly-linked list (O(1) get, insert, erase). Entries pinned through
 * acquire() are taken off that list while in use, so they are never evicted from under a user (a table
 * being read keeps its file open); they still count towards usage. onEvict runs once an entry has left
 * the cache (evicted, erased, replaced, cleared) and is no longer pinned: that is where the table cache
 * closes files.
 */
import { InvalidArgumentError } from './errors.js';

export interface CacheOptions<V> {
  onEvict?: (value: V, ns: number, key: number) => void;
}

export interface CacheStats {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
  usage: number;
  capacity: number;
  entries: number;
}

/** A pinned entry, from acquire() or insertAndAcquire(); give it back with release(). */
export interface CacheHandle<V> {
  readonly value: V;
}

class Node<V> implements CacheHandle<V> {
  prev: Node<V> = this;
  next: Node<V> = this;
  refs = 0;
  inCache = true;
  constructor(
    readonly ns: number,
    readonly key: number,
    readonly value: V,
    readonly charge: number,
  ) {}
}

export class LRUCache<V> {
  private readonly map = new Map<number, Map<number, Node<V>>>();
  /** Sentinel of the LRU list of unpinned entries: lru.next is the oldest, lru.prev the newest. */
  private readonly lru: Node<V>;
  private readonly onEvict: ((value: V, ns: number, key: number) => void) | undefined;
  private used = 0;
  private count = 0;
  private lastId = 0;
  hits = 0;
  misses = 0;
  inserts = 0;
  evictions = 0;

  constructor(
    private cap: number,
    options: CacheOptions<V> = {},
  ) {
    checkCapacity(cap);
    this.lru = new Node<V>(0, 0, undefined as V, 0);
    this.onEvict = options.onEvict;
  }

  /** A namespace id no caller-chosen id (>= 0, e.g. a file number) can collide with: -1, -2, ... */
  newId(): number {
    return --this.lastId;
  }

  /** The value, marked most recently used; undefined on a miss. Does not pin. */
  get(ns: number, key: number): V | undefined {
    const node = this.map.get(ns)?.get(key);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (node.refs === 0) {
      unlink(node);
      this.append(node);
    }
    return node.value;
  }

  /** Like get(), but pins the entry until release(). */
  acquire(ns: number, key: number): CacheHandle<V> | undefined {
    const node = this.map.get(ns)?.get(key);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.pin(node);
    return node;
  }

  /** Inserts (replacing any entry under the same key), then evicts least recently used entries. */
  insert(ns: number, key: number, value: V, charge = 1): void {
    this.add(ns, key, value, charge, false);
  }

  /** insert() and acquire() in one step: the new entry cannot be evicted before the caller uses it. */
  insertAndAcquire(ns: number, key: number, value: V, charge = 1): CacheHandle<V> {
    return this.add(ns, key, value, charge, true);
  }

  release(handle: CacheHandle<V>): void {
    const node = handle as Node<V>;
    if (node.refs <= 0) throw new InvalidArgumentError('cache handle released more often than acquired');
    if (--node.refs > 0) return;
    if (node.inCache) {
      this.append(node);
      this.evict();
    } else {
      this.onEvict?.(node.value, node.ns, node.key);
    }
  }

  /** Removes an entry; true if it was there. */
  erase(ns: number, key: number): boolean {
    const node = this.map.get(ns)?.get(key);
    if (node === undefined) return false;
    this.remove(node);
    return true;
  }

  /** Removes every entry of a namespace (e.g. the blocks of a deleted table); returns how many. */
  eraseNamespace(ns: number): number {
    const inner = this.map.get(ns);
    if (inner === undefined) return 0;
    const nodes = [...inner.values()];
    for (const node of nodes) this.remove(node);
    return nodes.length;
  }

  /** Removes every entry (pinned ones leave when released). */
  clear(): void {
    for (const inner of [...this.map.values()]) for (const node of [...inner.values()]) this.remove(node);
  }

  setCapacity(capacity: number): void {
    checkCapacity(capacity);
    this.cap = capacity;
    this.evict();
  }

  get capacity(): number {
    return this.cap;
  }

  /** Total charge of the entries in the cache, pinned ones included. */
  get usage(): number {
    return this.used;
  }

  get size(): number {
    return this.count;
  }

  stats(): CacheStats {
    const { hits, misses, inserts, evictions } = this;
    return { hits, misses, inserts, evictions, usage: this.used, capacity: this.cap, entries: this.count };
  }

  private add(ns: number, key: number, value: V, charge: number, pinned: boolean): Node<V> {
    if (!(charge >= 0) || !Number.isFinite(charge)) throw new InvalidArgumentError(`bad cache charge ${charge}`);
    let inner = this.map.get(ns);
    if (inner === undefined) {
      inner = new Map();
      this.map.set(ns, inner);
    }
    const old = inner.get(key);
    const node = new Node(ns, key, value, charge);
    inner.set(key, node);
    if (old !== undefined) this.detach(old);
    this.count++;
    this.used += charge;
    this.inserts++;
    if (pinned) node.refs = 1;
    else this.append(node);
    this.evict();
    return node;
  }

  private evict(): void {
    while (this.used > this.cap && this.lru.next !== this.lru) {
      this.evictions++;
      this.remove(this.lru.next);
    }
  }

  private pin(node: Node<V>): void {
    if (node.refs++ === 0) unlink(node);
  }

  /** Takes a node out of the map and accounting; calls onEvict unless it is pinned. */
  private remove(node: Node<V>): void {
    const inner = this.map.get(node.ns);
    if (inner?.get(node.key) === node) {
      inner.delete(node.key);
      if (inner.size === 0) this.map.delete(node.ns);
    }
    this.detach(node);
  }

  /** Accounting and callback for a node already replaced or deleted in the map. */
  private detach(node: Node<V>): void {
    if (!node.inCache) return;
    node.inCache = false;
    this.count--;
    this.used -= node.charge;
    if (node.refs === 0) {
      unlink(node);
      this.onEvict?.(node.value, node.ns, node.key);
    }
  }

  private append(node: Node<V>): void {
    const newest = this.lru.prev;
    node.prev = newest;
    node.next = this.lru;
    newest.next = node;
    this.lru.prev = node;
  }
}

function unlink<V>(node: Node<V>): void {
  node.prev.next = node.next;
  node.next.prev = node.prev;
  node.prev = node;
  node.next = node;
}

function checkCapacity(capacity: number): void {
  if (!(capacity >= 0)) throw new InvalidArgumentError(`cache capacity must be >= 0, got ${capacity}`);
}
