'use strict';

/**
 * Run async tasks with at most `limit` of them in flight at once.
 * Results keep the order of the input, not the order of completion.
 *
 * @template T, R
 * @param {Iterable<T>} items
 * @param {number} limit
 * @param {(item: T, index: number) => Promise<R>} worker
 * @returns {Promise<R[]>}
 */
async function mapWithConcurrency(items, limit, worker) {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError('limit must be a positive integer');
  }

  const list = Array.from(items);
  const results = new Array(list.length);
  let cursor = 0;

  // Each lane pulls the next index until the list is drained. Because JS is
  // single-threaded, `cursor++` cannot race between lanes.
  async function lane() {
    while (cursor < list.length) {
      const index = cursor++;
      results[index] = await worker(list[index], index);
    }
  }

  const lanes = [];
  for (let i = 0; i < Math.min(limit, list.length); i++) {
    lanes.push(lane());
  }
  await Promise.all(lanes);
  return results;
}

/**
 * A reusable limiter: wrap any async function call so that only `limit`
 * calls run concurrently across the whole program.
 */
function createLimiter(limit) {
  let active = 0;
  const waiting = [];

  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) next();
  };

  return function limited(fn, ...args) {
    return new Promise((resolve, reject) => {
      const start = () => {
        active++;
        Promise.resolve()
          .then(() => fn(...args))
          .then(resolve, reject)
          .finally(release);
      };
      if (active < limit) start();
      else waiting.push(start);
    });
  };
}

module.exports = { mapWithConcurrency, createLimiter };
