'use strict';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Compute the delay before retry number `attempt` (0-based) using
 * "full jitter": a random value between 0 and the exponential cap.
 * Randomising the whole range spreads retries from many clients apart,
 * which avoids synchronized thundering herds after an outage.
 */
function backoffDelay(attempt, { baseMs = 100, maxMs = 10_000, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Retry an async operation.
 *
 * @template T
 * @param {(attempt: number) => Promise<T>} operation
 * @param {object} [opts]
 * @param {number} [opts.retries=4]         extra attempts after the first
 * @param {(err: any) => boolean} [opts.shouldRetry] return false for permanent errors
 * @param {(err: any, attempt: number, delay: number) => void} [opts.onRetry]
 * @returns {Promise<T>}
 */
async function retry(operation, opts = {}) {
  const { retries = 4, shouldRetry = () => true, onRetry, ...delayOpts } = opts;

  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (attempt >= retries || !shouldRetry(err)) throw err;
      const delay = backoffDelay(attempt, delayOpts);
      onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

/** Retry only on network errors, 429 and 5xx: other 4xx answers will not improve. */
function isTransientHttpError(err) {
  const status = err?.status;
  if (status === undefined) return true;
  return status === 429 || status >= 500;
}

async function fetchInventory(sku) {
  return retry(
    async () => {
      const res = await fetch(`https://api.example.com/inventory/${encodeURIComponent(sku)}`);
      if (!res.ok) {
        throw Object.assign(new Error(`inventory lookup failed: ${res.status}`), {
          status: res.status,
        });
      }
      return res.json();
    },
    {
      retries: 5,
      baseMs: 200,
      shouldRetry: isTransientHttpError,
      onRetry: (err, n, delay) => console.warn(`retry #${n} in ${delay}ms: ${err.message}`),
    },
  );
}

module.exports = { retry, backoffDelay, isTransientHttpError, fetchInventory };
