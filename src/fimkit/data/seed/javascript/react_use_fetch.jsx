import { useCallback, useEffect, useReducer, useState } from 'react';

const initialState = { data: null, error: null, loading: false };

function fetchReducer(state, action) {
  switch (action.type) {
    case 'start':
      return { ...state, loading: true, error: null };
    case 'success':
      return { data: action.data, error: null, loading: false };
    case 'failure':
      return { ...state, error: action.error, loading: false };
    default:
      return state;
  }
}

/**
 * Fetch JSON for `url` whenever it changes. Pass null to skip fetching.
 * Returns { data, error, loading, reload }.
 */
export function useFetch(url, options) {
  const [state, dispatch] = useReducer(fetchReducer, initialState);
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);

  // Serialise options so an inline object literal does not refetch every render.
  const optionsKey = JSON.stringify(options ?? {});

  useEffect(() => {
    if (!url) return undefined;
    const controller = new AbortController();
    dispatch({ type: 'start' });

    (async () => {
      try {
        const res = await fetch(url, { ...JSON.parse(optionsKey), signal: controller.signal });
        if (!res.ok) throw new Error(`Request failed with ${res.status}`);
        dispatch({ type: 'success', data: await res.json() });
      } catch (error) {
        // An abort means the component moved on; that is not an error to show.
        if (!controller.signal.aborted) dispatch({ type: 'failure', error });
      }
    })();

    return () => controller.abort();
  }, [url, optionsKey, nonce]);

  return { ...state, reload };
}

export function RepoCard({ owner, name }) {
  const { data, error, loading, reload } = useFetch(
    owner && name ? `https://api.example.com/repos/${owner}/${name}` : null,
  );

  if (loading && !data) return <p>Loading repository…</p>;
  if (error) {
    return (
      <p role="alert">
        {error.message} <button onClick={reload}>Retry</button>
      </p>
    );
  }
  if (!data) return null;

  return (
    <article className="repo-card">
      <h3>{data.fullName}</h3>
      <p>{data.description ?? 'No description'}</p>
      <small>★ {data.stars?.toLocaleString() ?? 0}</small>
    </article>
  );
}
