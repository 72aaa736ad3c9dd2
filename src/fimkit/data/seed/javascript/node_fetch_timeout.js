/**
 * Thin wrapper around the global fetch (Node 18+) that enforces a timeout.
 * An external AbortSignal may also be passed; whichever fires first wins.
 */

export class TimeoutError extends Error {
  constructor(url, ms) {
    super(`Request to ${url} timed out after ${ms}ms`);
    this.name = 'TimeoutError';
    this.url = url;
  }
}

/**
 * @param {string} url
 * @param {RequestInit & { timeoutMs?: number }} [options]
 * @returns {Promise<Response>}
 */
export async function fetchWithTimeout(url, options = {}) {
  const { timeoutMs = 5000, signal: outerSignal, ...init } = options;
  const controller = new AbortController();

  // Forward an abort from the caller so both cancellation paths share one signal.
  const onOuterAbort = () => controller.abort(outerSignal.reason);
  if (outerSignal?.aborted) {
    controller.abort(outerSignal.reason);
  } else {
    outerSignal?.addEventListener('abort', onOuterAbort, { once: true });
  }

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);

  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } catch (err) {
    // fetch rejects with a generic AbortError; rewrap so callers can tell why.
    if (timedOut) throw new TimeoutError(url, timeoutMs);
    throw err;
  } finally {
    clearTimeout(timer);
    outerSignal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Convenience helper: GET JSON, throwing on non-2xx responses.
 * @param {string} url
 * @param {number} [timeoutMs]
 */
export async function getJson(url, timeoutMs = 3000) {
  const res = await fetchWithTimeout(url, {
    timeoutMs,
    headers: { accept: 'application/json' },
  });
  if (!res.ok) {
    throw new Error(`GET ${url} failed with status ${res.status}`);
  }
  return res.json();
}

// Example:
// const profile = await getJson('https://api.example.com/v1/me', 2000);
