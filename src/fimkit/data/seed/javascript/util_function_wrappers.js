/**
 * Classic higher-order helpers for rate-limiting and one-shot calls.
 */

/**
 * Delay `fn` until `wait` ms have passed without another call.
 * The returned function exposes cancel() and flush().
 */
export function debounce(fn, wait = 250) {
  let timer = null;
  let lastArgs;
  let lastThis;

  function invoke() {
    timer = null;
    const args = lastArgs;
    lastArgs = lastThis = undefined;
    return fn.apply(this, args);
  }

  function debounced(...args) {
    lastArgs = args;
    lastThis = this;
    clearTimeout(timer);
    timer = setTimeout(() => invoke.call(lastThis), wait);
  }

  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
    lastArgs = lastThis = undefined;
  };
  debounced.flush = () => {
    if (timer === null) return undefined;
    clearTimeout(timer);
    return invoke.call(lastThis);
  };
  return debounced;
}

/**
 * Run `fn` at most once per `interval` ms. Calls made during the cool-down
 * are collapsed into one trailing call so the latest arguments are not lost.
 */
export function throttle(fn, interval = 100) {
  let lastRun = 0;
  let trailing = null;

  return function throttled(...args) {
    const now = Date.now();
    const remaining = interval - (now - lastRun);
    if (remaining <= 0) {
      clearTimeout(trailing);
      trailing = null;
      lastRun = now;
      fn.apply(this, args);
    } else {
      clearTimeout(trailing);
      trailing = setTimeout(() => {
        lastRun = Date.now();
        trailing = null;
        fn.apply(this, args);
      }, remaining);
    }
  };
}

/** Call `fn` only the first time; later calls return the cached result. */
export function once(fn) {
  let called = false;
  let result;
  return function (...args) {
    if (!called) {
      called = true;
      result = fn.apply(this, args);
    }
    return result;
  };
}
