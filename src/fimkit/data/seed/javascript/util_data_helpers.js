'use strict';

const isPlainObject = (v) =>
  v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Recursively merge plain objects from left to right. Arrays and class
 * instances are replaced, not merged: merging arrays index-by-index is rarely
 * what a config override means. Inputs are never mutated.
 */
function deepMerge(...sources) {
  const result = {};
  for (const source of sources) {
    if (!isPlainObject(source)) continue;
    for (const [key, value] of Object.entries(source)) {
      if (key === '__proto__' || key === 'constructor') continue; // prototype pollution guard
      result[key] =
        isPlainObject(value) && isPlainObject(result[key])
          ? deepMerge(result[key], value)
          : deepClone(value);
    }
  }
  return result;
}

/** Clone plain data (objects, arrays, Dates, Maps, Sets), handling cycles. */
function deepClone(value, seen = new WeakMap()) {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);

  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    value.forEach((v, k) => copy.set(k, deepClone(v, seen)));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    value.forEach((v) => copy.add(deepClone(v, seen)));
    return copy;
  }

  const copy = Array.isArray(value) ? [] : Object.create(Object.getPrototypeOf(value));
  seen.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = deepClone(value[key], seen);
  return copy;
}

/** groupBy(users, (u) => u.role) -> { admin: [...], member: [...] } */
function groupBy(items, keyFn) {
  return items.reduce((acc, item) => {
    const key = keyFn(item);
    (acc[key] ??= []).push(item);
    return acc;
  }, {});
}

/** chunk([1,2,3,4,5], 2) -> [[1,2],[3,4],[5]] */
function chunk(items, size) {
  if (size < 1) throw new RangeError('chunk size must be >= 1');
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Split into [matching, rest] in a single pass. */
function partition(items, predicate) {
  const yes = [];
  const no = [];
  for (const item of items) (predicate(item) ? yes : no).push(item);
  return [yes, no];
}

module.exports = { deepMerge, deepClone, groupBy, chunk, partition, isPlainObject };
