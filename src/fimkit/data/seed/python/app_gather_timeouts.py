"""Fan out to several backends concurrently, giving each its own deadline."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable


@dataclass(frozen=True)
class Outcome:
    source: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def _guarded(source: str, coro: Awaitable[Any], timeout: float) -> Outcome:
    try:
        return Outcome(source, value=await asyncio.wait_for(coro, timeout))
    except asyncio.TimeoutError:
        return Outcome(source, error=f"timed out after {timeout:.1f}s")
    except Exception as exc:
        return Outcome(source, error=f"{type(exc).__name__}: {exc}")


async def fan_out(calls: dict[str, Callable[[], Awaitable[Any]]],
                  per_call_timeout: float = 2.0) -> list[Outcome]:
    """Run every call concurrently; one slow or failing backend never sinks the rest.

    Each coroutine is wrapped individually rather than wrapping gather() in a
    single wait_for, because the latter would throw away results that did arrive.
    """
    wrapped = [_guarded(name, factory(), per_call_timeout) for name, factory in calls.items()]
    return list(await asyncio.gather(*wrapped))


async def _fake_search(engine: str, delay: float) -> list[str]:
    await asyncio.sleep(delay)
    if engine == "broken":
        raise ConnectionError("backend refused connection")
    return [f"{engine}-hit-{i}" for i in range(3)]


async def main() -> None:
    outcomes = await fan_out({
        "fast": lambda: _fake_search("fast", 0.1),
        "slow": lambda: _fake_search("slow", 5.0),
        "broken": lambda: _fake_search("broken", 0.2),
    }, per_call_timeout=1.0)
    merged = [hit for o in outcomes if o.ok for hit in o.value]
    for o in outcomes:
        print(o.source, "ok" if o.ok else o.error)
    print("merged:", merged)


if __name__ == "__main__":
    asyncio.run(main())
