"""Async HTTP client with a token-bucket rate limit, using httpx."""
import asyncio
import time
from typing import Any

import httpx


class TokenBucket:
    """Allow ``rate`` requests per second with bursts up to ``capacity``."""

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = float(capacity)
        self._updated = time.monotonic()
        # The lock serialises refills so concurrent tasks don't double-spend tokens.
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                elapsed = now - self._updated
                self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                # Sleep just long enough for one token to accumulate.
                await asyncio.sleep((1 - self._tokens) / self.rate)


class WeatherClient:
    def __init__(self, api_key: str, requests_per_second: float = 5.0) -> None:
        self._bucket = TokenBucket(requests_per_second, capacity=10)
        self._client = httpx.AsyncClient(
            base_url="https://api.example.com/weather",
            params={"key": api_key},
            timeout=httpx.Timeout(10.0, connect=3.0),
        )

    async def current(self, city: str) -> dict[str, Any]:
        await self._bucket.acquire()
        response = await self._client.get("/current", params={"city": city})
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self._client.aclose()


async def main(cities: list[str]) -> None:
    client = WeatherClient(api_key="demo")
    try:
        results = await asyncio.gather(*(client.current(c) for c in cities),
                                       return_exceptions=True)
        for city, result in zip(cities, results):
            if isinstance(result, Exception):
                print(f"{city}: failed ({result!r})")
            else:
                print(f"{city}: {result.get('temp_c')} C")
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(["Oslo", "Lima", "Nairobi", "Osaka"]))
