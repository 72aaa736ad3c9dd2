/**
 * Tiny topic-based pub/sub broker with wildcard subscriptions.
 * Topics are dot-separated ("order.created"); a subscriber to "order.*"
 * receives every event one level below "order", and "*" alone matches all.
 */
export function createBroker() {
  /** @type {Map<string, Set<Function>>} */
  const subscribers = new Map();

  const matches = (pattern, topic) => {
    if (pattern === '*' || pattern === topic) return true;
    const p = pattern.split('.');
    const t = topic.split('.');
    return p.length === t.length && p.every((part, i) => part === '*' || part === t[i]);
  };

  /**
   * @param {string} pattern
   * @param {(payload: unknown, topic: string) => void} handler
   * @returns {() => void} unsubscribe function
   */
  function subscribe(pattern, handler) {
    if (!subscribers.has(pattern)) subscribers.set(pattern, new Set());
    subscribers.get(pattern).add(handler);
    return () => {
      const set = subscribers.get(pattern);
      set?.delete(handler);
      if (set?.size === 0) subscribers.delete(pattern);
    };
  }

  /** Subscribe for exactly one delivery. */
  function subscribeOnce(pattern, handler) {
    const off = subscribe(pattern, (payload, topic) => {
      off();
      handler(payload, topic);
    });
    return off;
  }

  /**
   * Deliver synchronously. One throwing handler must not prevent delivery
   * to the others, so errors are collected and reported afterwards.
   * @returns {number} how many handlers received the event
   */
  function publish(topic, payload) {
    const errors = [];
    let delivered = 0;
    for (const [pattern, handlers] of subscribers) {
      if (!matches(pattern, topic)) continue;
      // Copy first: a handler may unsubscribe while we iterate.
      for (const handler of [...handlers]) {
        delivered++;
        try {
          handler(payload, topic);
        } catch (err) {
          errors.push(err);
        }
      }
    }
    if (errors.length) throw new AggregateError(errors, `${errors.length} subscriber(s) failed on ${topic}`);
    return delivered;
  }

  return { subscribe, subscribeOnce, publish };
}

// const bus = createBroker();
// const off = bus.subscribe('cart.*', (item, topic) => console.log(topic, item));
// bus.publish('cart.added', { sku: 'A-100', qty: 2 });
// off();
