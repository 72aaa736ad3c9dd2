import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';

const ToastContext = createContext({ notify: () => {}, dismiss: () => {} });
export const useToast = () => useContext(ToastContext);

function Toast({ toast, onDismiss }) {
  useEffect(() => {
    if (!toast.duration) return undefined; // duration 0 = sticky until closed
    const timer = setTimeout(() => onDismiss(toast.id), toast.duration);
    return () => clearTimeout(timer);
  }, [toast.id, toast.duration, onDismiss]);

  return (
    <div className={`toast toast--${toast.variant}`} role={toast.variant === 'error' ? 'alert' : 'status'}>
      <span>{toast.message}</span>
      <button type="button" aria-label="Dismiss notification" onClick={() => onDismiss(toast.id)}>
        ✕
      </button>
    </div>
  );
}

/**
 * Provides notify(message, { variant, duration }) to the whole tree.
 * Keeps at most `limit` toasts on screen, dropping the oldest first.
 */
export function ToastProvider({ children, limit = 4 }) {
  const [toasts, setToasts] = useState([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id) => {
    setToasts((list) => list.filter((t) => t.id !== id));
  }, []);

  const notify = useCallback(
    (message, { variant = 'info', duration = 4000 } = {}) => {
      const id = nextId.current++;
      setToasts((list) => [...list, { id, message, variant, duration }].slice(-limit));
      return id;
    },
    [limit],
  );

  const api = useMemo(() => ({ notify, dismiss }), [notify, dismiss]);

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toast-region" aria-live="polite">
        {toasts.map((t) => (
          <Toast key={t.id} toast={t} onDismiss={dismiss} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function SaveButton({ onSave }) {
  const { notify } = useToast();
  const handleClick = async () => {
    try {
      await onSave();
      notify('Changes saved', { variant: 'success' });
    } catch (err) {
      notify(`Could not save: ${err.message}`, { variant: 'error', duration: 0 });
    }
  };
  return <button onClick={handleClick}>Save</button>;
}
