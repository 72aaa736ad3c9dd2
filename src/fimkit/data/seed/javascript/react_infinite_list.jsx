import { useCallback, useEffect, useRef, useState } from 'react';

const PAGE_SIZE = 30;

async function loadPage(offset) {
  const res = await fetch(`https://api.example.com/feed?offset=${offset}&limit=${PAGE_SIZE}`);
  if (!res.ok) throw new Error(`Feed request failed (${res.status})`);
  return res.json(); // { items: [...], hasMore: boolean }
}

/**
 * Infinite scrolling feed. An IntersectionObserver watches a sentinel
 * element below the list, which is cheaper than listening to scroll events
 * and measuring layout on every frame.
 */
export default function InfiniteFeed({ renderItem = (item) => item.title }) {
  const [items, setItems] = useState([]);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const sentinelRef = useRef(null);
  // A ref guards against the observer firing twice before state updates land.
  const inFlight = useRef(false);

  const loadMore = useCallback(async () => {
    if (inFlight.current || !hasMore) return;
    inFlight.current = true;
    setLoading(true);
    setError(null);
    try {
      const page = await loadPage(items.length);
      setItems((prev) => [...prev, ...page.items]);
      setHasMore(page.hasMore);
    } catch (err) {
      setError(err);
    } finally {
      inFlight.current = false;
      setLoading(false);
    }
  }, [items.length, hasMore]);

  useEffect(() => {
    const node = sentinelRef.current;
    if (!node || error) return undefined;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries[0]?.isIntersecting) loadMore();
      },
      { rootMargin: '400px 0px' }, // start loading before the user hits the bottom
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [loadMore, error]);

  return (
    <section aria-busy={loading}>
      <ul className="feed">
        {items.map((item) => (
          <li key={item.id}>{renderItem(item)}</li>
        ))}
      </ul>
      {error && (
        <p role="alert">
          {error.message} <button onClick={loadMore}>Try again</button>
        </p>
      )}
      {loading && <p className="spinner">Loading more…</p>}
      {!hasMore && <p className="end">You have reached the end.</p>}
      {hasMore && <div ref={sentinelRef} style={{ height: 1 }} />}
    </section>
  );
}
