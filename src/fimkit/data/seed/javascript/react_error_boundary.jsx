import React from 'react';

/**
 * Catches render-time errors in its subtree and shows a fallback.
 * Must be a class: there is no hook equivalent of componentDidCatch.
 * Note that errors thrown in event handlers or async code are NOT caught here.
 */
export class ErrorBoundary extends React.Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidCatch(error, info) {
    // Report outside of rendering; a failing reporter must not crash the app.
    try {
      this.props.onError?.(error, info.componentStack);
    } catch (reportError) {
      console.error('Error reporter failed', reportError);
    }
  }

  componentDidUpdate(prevProps) {
    // Changing resetKeys (e.g. the route) clears the error automatically.
    const { resetKeys = [] } = this.props;
    const prev = prevProps.resetKeys ?? [];
    if (this.state.error && resetKeys.some((key, i) => !Object.is(key, prev[i]))) {
      this.reset();
    }
  }

  reset = () => {
    this.setState({ error: null });
  };

  render() {
    const { error } = this.state;
    const { fallback, children } = this.props;
    if (!error) return children;
    if (typeof fallback === 'function') return fallback({ error, reset: this.reset });
    return fallback ?? <DefaultFallback error={error} onRetry={this.reset} />;
  }
}

function DefaultFallback({ error, onRetry }) {
  return (
    <div role="alert" className="error-fallback">
      <h2>Something went wrong.</h2>
      <pre>{error.message}</pre>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}

function reportToServer(error, componentStack) {
  navigator.sendBeacon?.(
    'https://telemetry.example.com/errors',
    JSON.stringify({ message: error.message, stack: error.stack, componentStack }),
  );
}

export function Dashboard({ route, children }) {
  return (
    <ErrorBoundary resetKeys={[route]} onError={reportToServer}>
      {children}
    </ErrorBoundary>
  );
}
