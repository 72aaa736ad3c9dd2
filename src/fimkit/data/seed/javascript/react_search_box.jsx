import { useEffect, useState } from 'react';

/** Returns `value` only after it has stopped changing for `delay` ms. */
function useDebouncedValue(value, delay = 300) {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setDebounced(value), delay);
    return () => clearTimeout(id);
  }, [value, delay]);
  return debounced;
}

/**
 * Search input that queries the API as the user types, without sending a
 * request per keystroke. Stale responses are discarded via AbortController,
 * so a slow reply for "re" cannot overwrite the results for "react".
 */
export default function SearchBox({ endpoint = 'https://api.example.com/search', minLength = 2 }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState([]);
  const [status, setStatus] = useState('idle');
  const term = useDebouncedValue(query.trim(), 350);

  useEffect(() => {
    if (term.length < minLength) {
      setResults([]);
      setStatus('idle');
      return undefined;
    }
    const controller = new AbortController();
    setStatus('loading');
    fetch(`${endpoint}?q=${encodeURIComponent(term)}`, { signal: controller.signal })
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(res.statusText))))
      .then((data) => {
        setResults(data.hits ?? []);
        setStatus('done');
      })
      .catch((err) => {
        if (err.name !== 'AbortError') setStatus('error');
      });
    return () => controller.abort();
  }, [term, endpoint, minLength]);

  return (
    <div className="search-box" role="search">
      <input
        type="search"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        placeholder="Search packages…"
        aria-label="Search"
      />
      {status === 'loading' && <p className="hint">Searching…</p>}
      {status === 'error' && <p className="error">Search failed, try again.</p>}
      {status === 'done' && results.length === 0 && <p className="hint">No matches for “{term}”.</p>}
      <ul>
        {results.map((hit) => (
          <li key={hit.id}>
            <a href={hit.url}>{hit.title}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}
