"""In-process job scheduler driven by a heap of next-run times."""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("scheduler")


@dataclass(order=True)
class _Entry:
    due: float
    seq: int  # tie-breaker so entries never compare the job objects themselves
    job: "Job" = field(compare=False)


@dataclass
class Job:
    name: str
    func: Callable[[], None]
    interval: float
    runs: int = 0
    failures: int = 0


class Scheduler:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._stop = threading.Event()

    def every(self, seconds: float, name: str | None = None, run_now: bool = False):
        """Decorator registering ``func`` to run every ``seconds``."""
        def register(func: Callable[[], None]) -> Callable[[], None]:
            job = Job(name or func.__name__, func, seconds)
            first = self._clock() + (0 if run_now else seconds)
            heapq.heappush(self._heap, _Entry(first, next(self._seq), job))
            return func
        return register

    def run_pending(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            job = entry.job
            try:
                job.func()
                job.runs += 1
            except Exception:
                job.failures += 1
                log.exception("job %s failed", job.name)
            # Schedule from the previous due time, not "now", so jobs don't drift;
            # but skip missed slots instead of firing a burst after a long stall.
            next_due = entry.due + job.interval
            if next_due <= now:
                next_due = now + job.interval
            heapq.heappush(self._heap, _Entry(next_due, next(self._seq), job))

    def run_forever(self, tick: float = 0.5) -> None:
        while not self._stop.is_set():
            self.run_pending()
            delay = self._heap[0].due - self._clock() if self._heap else tick
            # Event.wait doubles as an interruptible sleep for clean shutdown.
            self._stop.wait(max(0.0, min(delay, tick)))

    def stop(self) -> None:
        self._stop.set()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sched = Scheduler()

    @sched.every(1.0, run_now=True)
    def heartbeat() -> None:
        print("heartbeat", time.strftime("%H:%M:%S"))

    threading.Timer(3.5, sched.stop).start()
    sched.run_forever()
