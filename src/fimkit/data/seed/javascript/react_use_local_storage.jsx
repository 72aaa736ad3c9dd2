import { useCallback, useEffect, useState } from 'react';

/**
 * useState that persists to localStorage and stays in sync across tabs.
 *
 * @template T
 * @param {string} key
 * @param {T | (() => T)} initialValue
 * @returns {[T, (next: T | ((prev: T) => T)) => void, () => void]}
 */
export function useLocalStorage(key, initialValue) {
  const readValue = useCallback(() => {
    const fallback = initialValue instanceof Function ? initialValue() : initialValue;
    // localStorage is unavailable during server rendering and may throw in
    // private browsing modes, so every access is guarded.
    if (typeof window === 'undefined') return fallback;
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const [stored, setStored] = useState(readValue);

  const setValue = useCallback(
    (next) => {
      setStored((prev) => {
        const value = next instanceof Function ? next(prev) : next;
        try {
          window.localStorage.setItem(key, JSON.stringify(value));
        } catch {
          /* quota exceeded: keep the in-memory value anyway */
        }
        return value;
      });
    },
    [key],
  );

  const remove = useCallback(() => {
    window.localStorage.removeItem(key);
    setStored(readValue());
  }, [key, readValue]);

  // The storage event only fires in *other* tabs, which is exactly what we want.
  useEffect(() => {
    const onStorage = (e) => {
      if (e.key === key) setStored(readValue());
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [key, readValue]);

  return [stored, setValue, remove];
}

export function SidebarToggle() {
  const [collapsed, setCollapsed] = useLocalStorage('ui.sidebarCollapsed', false);
  return (
    <button type="button" aria-pressed={collapsed} onClick={() => setCollapsed((c) => !c)}>
      {collapsed ? 'Show sidebar' : 'Hide sidebar'}
    </button>
  );
}
