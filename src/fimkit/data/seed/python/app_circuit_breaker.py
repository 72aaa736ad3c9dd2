"""Circuit breaker that stops calling a failing dependency for a cool-down period."""
import threading
import time
from enum import Enum, auto
from functools import wraps
from typing import Any, Callable


class BreakerState(Enum):
    CLOSED = auto()     # normal operation, calls pass through
    OPEN = auto()       # failing fast, no calls reach the dependency
    HALF_OPEN = auto()  # one trial call decides whether to close again


class CircuitOpenError(RuntimeError):
    pass


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> BreakerState:
        # OPEN turns into HALF_OPEN lazily, when someone next looks at it.
        if self._state is BreakerState.OPEN and \
                self._clock() - self._opened_at >= self.reset_timeout:
            self._state = BreakerState.HALF_OPEN
        return self._state

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            state = self._current_state()
            if state is BreakerState.OPEN:
                raise CircuitOpenError("dependency unavailable, failing fast")
            if state is BreakerState.HALF_OPEN:
                # Re-open immediately so only this caller gets the trial request.
                self._state, self._opened_at = BreakerState.OPEN, self._clock()
        try:
            result = func(*args, **kwargs)
        except Exception:
            with self._lock:
                self._failures += 1
                if state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                    self._state, self._opened_at = BreakerState.OPEN, self._clock()
            raise
        with self._lock:
            self._failures = 0
            self._state = BreakerState.CLOSED
        return result

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return self.call(func, *args, **kwargs)
        return guarded


payments_breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10)


@payments_breaker
def charge_card(amount_cents: int) -> str:
    # Placeholder for a call to https://payments.example.com/charges
    raise ConnectionError("payments.example.com unreachable")


if __name__ == "__main__":
    for attempt in range(5):
        try:
            charge_card(500)
        except Exception as exc:
            print(attempt, type(exc).__name__, payments_breaker.state.name)
