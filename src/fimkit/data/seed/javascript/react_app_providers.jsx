import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';

const ThemeContext = createContext(null);
const AuthContext = createContext(null);

/** Throwing beats silently returning null when a provider is missing. */
function useRequiredContext(ctx, name) {
  const value = useContext(ctx);
  if (value === null) throw new Error(`${name} must be used inside <AppProviders>`);
  return value;
}

export const useTheme = () => useRequiredContext(ThemeContext, 'useTheme');
export const useAuth = () => useRequiredContext(AuthContext, 'useAuth');

function ThemeProvider({ children }) {
  const prefersDark = typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches;
  const [theme, setTheme] = useState(prefersDark ? 'dark' : 'light');

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  // Memoised so consumers only re-render when the theme actually changes.
  const value = useMemo(
    () => ({ theme, toggle: () => setTheme((t) => (t === 'dark' ? 'light' : 'dark')) }),
    [theme],
  );
  return <ThemeContext.Provider value={value}>{children}</ThemeContext.Provider>;
}

function AuthProvider({ children, apiBase = 'https://api.example.com' }) {
  const [user, setUser] = useState(null);

  const login = useCallback(
    async (email, password) => {
      const res = await fetch(`${apiBase}/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'include',
        body: JSON.stringify({ email, password }),
      });
      if (!res.ok) throw new Error('Invalid credentials');
      setUser(await res.json());
    },
    [apiBase],
  );

  const logout = useCallback(async () => {
    await fetch(`${apiBase}/session`, { method: 'DELETE', credentials: 'include' });
    setUser(null);
  }, [apiBase]);

  const value = useMemo(() => ({ user, isAuthenticated: user !== null, login, logout }), [user, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function AppProviders({ children }) {
  return (
    <ThemeProvider>
      <AuthProvider>{children}</AuthProvider>
    </ThemeProvider>
  );
}

export function HeaderBar() {
  const { theme, toggle } = useTheme();
  const { user, logout } = useAuth();
  return (
    <header className={`header header--${theme}`}>
      <button onClick={toggle}>{theme === 'dark' ? '☀︎' : '☾'}</button>
      {user && <button onClick={logout}>Sign out {user.name}</button>}
    </header>
  );
}
