/**
 * LRU cache with per-entry TTL, plus a memoize helper built on top of it.
 * A Map iterates in insertion order, so deleting and re-inserting a key
 * moves it to the "most recently used" end for free.
 */
export class LruCache {
  #max;
  #ttl;
  #store = new Map();

  constructor({ max = 500, ttlMs = 60_000 } = {}) {
    this.#max = max;
    this.#ttl = ttlMs;
  }

  get size() {
    return this.#store.size;
  }

  has(key) {
    return this.get(key) !== undefined;
  }

  get(key) {
    const entry = this.#store.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.#store.delete(key);
      return undefined;
    }
    this.#store.delete(key);
    this.#store.set(key, entry);
    return entry.value;
  }

  set(key, value, ttlMs = this.#ttl) {
    this.#store.delete(key);
    this.#store.set(key, { value, expires: Date.now() + ttlMs });
    if (this.#store.size > this.#max) {
      // The first key is the least recently used one.
      const oldest = this.#store.keys().next().value;
      this.#store.delete(oldest);
    }
    return this;
  }

  delete(key) {
    return this.#store.delete(key);
  }

  clear() {
    this.#store.clear();
  }
}

/**
 * Memoize a function. For async functions the promise itself is cached, so
 * concurrent callers share one in-flight request; rejected promises are
 * evicted so a transient failure is not remembered.
 */
export function memoize(fn, { key = (...args) => JSON.stringify(args), ...cacheOpts } = {}) {
  const cache = new LruCache(cacheOpts);

  const memoized = function (...args) {
    const k = key(...args);
    const hit = cache.get(k);
    if (hit !== undefined) return hit;

    const value = fn.apply(this, args);
    cache.set(k, value);
    if (value instanceof Promise) {
      value.catch(() => cache.delete(k));
    }
    return value;
  };
  memoized.cache = cache;
  return memoized;
}
