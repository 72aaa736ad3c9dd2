"""A fixed-size asyncio worker pool fed by an asyncio.Queue."""
import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Handler = Callable[[Any], Awaitable[Any]]


async def _worker(name: str, queue: asyncio.Queue, handler: Handler,
                  results: dict[Any, Any]) -> None:
    while True:
        item = await queue.get()
        try:
            results[item] = await handler(item)
        except Exception as exc:  # keep the worker alive; record the failure instead
            results[item] = exc
        finally:
            # task_done must run even on failure or queue.join() would hang forever.
            queue.task_done()


async def run_pool(items: Iterable[Any], handler: Handler, workers: int = 4,
                   max_pending: int = 100) -> dict[Any, Any]:
    """Process ``items`` with ``workers`` concurrent tasks and return item -> result."""
    # A bounded queue applies back-pressure when the producer outruns the workers.
    queue: asyncio.Queue = asyncio.Queue(maxsize=max_pending)
    results: dict[Any, Any] = {}
    tasks = [asyncio.create_task(_worker(f"w{i}", queue, handler, results))
             for i in range(workers)]
    try:
        for item in items:
            await queue.put(item)
        await queue.join()
    finally:
        for task in tasks:
            task.cancel()
        # Wait for cancellation to finish so no task outlives the pool.
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def resize_image(image_id: int) -> str:
    await asyncio.sleep(random.uniform(0.01, 0.05))
    if image_id % 7 == 0:
        raise ValueError(f"corrupt image {image_id}")
    return f"thumb_{image_id}.webp"


if __name__ == "__main__":
    out = asyncio.run(run_pool(range(1, 21), resize_image, workers=3))
    failed = [k for k, v in out.items() if isinstance(v, Exception)]
    print(f"done: {len(out) - len(failed)} ok, {len(failed)} failed -> {failed}")
