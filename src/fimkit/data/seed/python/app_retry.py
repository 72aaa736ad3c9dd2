"""Retry decorator with exponential backoff and full jitter."""
import functools
import logging
import random
import time
from typing import Callable, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


def retry(
    exceptions: tuple[type[BaseException], ...] = (Exception,),
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry the wrapped function when it raises one of ``exceptions``.

    The delay before retry *n* is a random value in ``[0, min(max_delay, base * 2**n)]``.
    Full jitter spreads clients out so a recovering server isn't hit by a
    synchronized thundering herd. ``sleep`` is injectable to keep tests fast.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(attempts):
                try:
                    return func(*args, **kwargs)
                except exceptions as exc:
                    if attempt == attempts - 1:
                        raise  # out of attempts: surface the original error
                    delay = random.uniform(0, min(max_delay, base_delay * 2 ** attempt))
                    log.warning("%s failed (%s); retry %d/%d in %.2fs",
                                func.__qualname__, exc, attempt + 1, attempts - 1, delay)
                    sleep(delay)
            raise AssertionError("unreachable")

        return wrapper

    return decorator


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    calls = {"n": 0}

    @retry((ConnectionError,), attempts=4, base_delay=0.05)
    def flaky_ping() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("connection reset")
        return "pong"

    print(flaky_ping(), "after", calls["n"], "calls")
