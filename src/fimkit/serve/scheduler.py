"""One model, many clients: a bounded FIFO queue in front of a single worker thread.

llama.cpp contexts are not thread-safe and a 2-core machine gains nothing from running two
generations at once, so requests run one at a time in arrival order (fair), and a client
that arrives when ``max_queue`` requests are already waiting is refused at once (503 with
Retry-After) instead of waiting without bound. Each job carries a cancel event: a client
that disconnects stops its generation within one token, or never starts it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    """More requests are waiting than the server accepts."""


@dataclass
class Job:
    work: Callable[[threading.Event, Callable[[str], None]], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    deltas: asyncio.Queue | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    expired: bool = False  # cancelled by the request deadline, not by the client
    background: bool = False  # its client has its answer; the rest is generated ahead (continuation)

    def push(self, text: str) -> None:
        if self.deltas is not None:
            self.loop.call_soon_threadsafe(self.deltas.put_nowait, text)


class Scheduler:
    def __init__(self, max_queue: int = 16):
        self.max_queue = max_queue
        self._q: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="fimkit-engine", daemon=True)
        self.busy = False
        self.current: Job | None = None
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._q.qsize()

    def submit(self, work, *, stream: bool = False, deadline_s: float | None = None, preempt: bool = True) -> Job:
        """Queue ``work``; past ``deadline_s`` (queue wait included) its cancel event is set. ``preempt``:
        stop a job that is only generating ahead (warm-ups do not: they are cheap to wait for)."""
        loop = asyncio.get_running_loop()
        job = Job(work, loop, loop.create_future(), asyncio.Queue() if stream else None)
        running = self.current
        if preempt and running is not None and running.background:
            running.cancel.set()  # generating ahead never delays a request that someone waits for
        try:
            self._q.put_nowait(job)
        except queue.Full:
            raise QueueFull(f"{self.max_queue} requests are already waiting") from None
        if deadline_s:
            def expire():
                if not job.future.done():
                    job.expired = True
                    job.cancel.set()

            timer = loop.call_later(deadline_s, expire)
            job.future.add_done_callback(lambda _: timer.cancel())
        return job

    def _run(self) -> None:
        while True:
            job = self._q.get()
            if job is None:
                return
            if job.cancel.is_set():
                self._settle(job, None, None)
                continue
            self.busy, self.current = True, job
            try:
                result, error = job.work(job.cancel, job.push), None
            except BaseException as exc:  # noqa: BLE001 - delivered to the waiting request
                result, error = None, exc
            finally:
                self.busy, self.current = False, None
            self._settle(job, result, error)

    @staticmethod
    def _settle(job: Job, result, error) -> None:
        def done():
            if job.deltas is not None:
                job.deltas.put_nowait(None)  # end of stream
            if not job.future.done():
                if error is not None:
                    job.future.set_exception(error)
                else:
                    job.future.set_result(result)

        try:
            job.loop.call_soon_threadsafe(done)
        except RuntimeError:  # the event loop is gone (server shutting down)
            pass

    def close(self) -> None:
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass
