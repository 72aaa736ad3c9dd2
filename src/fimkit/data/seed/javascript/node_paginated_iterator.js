// Async iteration over a cursor-paginated REST endpoint.
// The API is assumed to answer { items: [...], nextCursor: string | null }.

const BASE_URL = 'https://api.example.com/v2';

/**
 * Yield every page from the endpoint, following `nextCursor` until exhausted.
 * @param {string} resource e.g. "orders"
 * @param {{ pageSize?: number, token?: string }} [opts]
 */
export async function* pages(resource, { pageSize = 100, token } = {}) {
  let cursor = null;
  do {
    const url = new URL(`${BASE_URL}/${resource}`);
    url.searchParams.set('limit', String(pageSize));
    if (cursor) url.searchParams.set('cursor', cursor);

    const res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (!res.ok) throw new Error(`${res.status} while fetching ${url}`);

    const body = await res.json();
    yield body.items ?? [];
    cursor = body.nextCursor ?? null;
  } while (cursor);
}

/** Flatten pages into individual records. */
export async function* records(resource, opts) {
  for await (const page of pages(resource, opts)) {
    yield* page;
  }
}

/**
 * Take at most `n` values from any async iterable. Returning early from the
 * for-await loop calls the generator's return(), so no extra pages are fetched.
 */
export async function take(iterable, n) {
  const out = [];
  if (n <= 0) return out;
  for await (const value of iterable) {
    out.push(value);
    if (out.length >= n) break;
  }
  return out;
}

export async function countWhere(iterable, predicate) {
  let total = 0;
  for await (const value of iterable) {
    if (predicate(value)) total += 1;
  }
  return total;
}

// Usage:
//   const firstFifty = await take(records('orders', { pageSize: 20 }), 50);
//   const refunded = await countWhere(records('orders'), (o) => o.status === 'refunded');
