"""One model, many clients: a bounded FIFO queue in front of the engine's workers.

An in-process llama.cpp context is not thread-safe, so that engine gets one worker and requests run
one at a time in arrival order (fair); an engine that batches (llama-server's slots) gets one worker
per slot, each a thread waiting on its HTTP stream. A client that arrives when ``max_queue``
requests are already waiting is refused at once (503 with Retry-After) instead of waiting without
bound. Each job carries a cancel event: a client that disconnects stops its generation within one
token, or never starts it.
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


@dataclass(eq=False)  # a job is itself: hashable by identity
class Job:
    work: Callable[[threading.Event, Callable[[str], None]], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    deltas: asyncio.Queue | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    expired: bool = False  # cancelled by the request deadline, not by the client
    background: bool = False  # its client has its answer; the rest is generated ahead (continuation)
    key: str | None = None  # who is typing (a user, or an address and its file): see Service.routed

    def push(self, text: str) -> None:
        if self.deltas is not None:
            self.loop.call_soon_threadsafe(self.deltas.put_nowait, text)


class Scheduler:
    def __init__(self, max_queue: int = 16, workers: int = 1):
        self.max_queue, self.workers = max_queue, workers
        self._q: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self.running: set[Job] = set()  # jobs a worker holds now
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"fimkit-engine-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    @property
    def depth(self) -> int:
        return self._q.qsize()

    def submit(self, work, *, stream: bool = False, deadline_s: float | None = None, preempt: bool = True,
               key: str | None = None) -> Job:
        """Queue ``work``; past ``deadline_s`` (queue wait included) its cancel event is set. ``preempt``:
        stop a job that is only generating ahead (warm-ups do not: they are cheap to wait for): the same
        ``key``'s (its typist has moved on, and on a batching engine its slot holds the prompt cache the
        new request wants), or any when no worker is free."""
        loop = asyncio.get_running_loop()
        job = Job(work, loop, loop.create_future(), asyncio.Queue() if stream else None, key=key)
        with self._lock:
            ahead = [j for j in self.running if j.background]
            full = len(self.running) >= self.workers
        if preempt:  # generating ahead never delays a request that someone waits for
            mine = [j for j in ahead if key is not None and j.key == key]
            for j in mine or (ahead[:1] if full else []):
                j.cancel.set()
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
            with self._lock:
                self.running.add(job)
            try:
                result, error = job.work(job.cancel, job.push), None
            except BaseException as exc:  # noqa: BLE001 - delivered to the waiting request
                result, error = None, exc
            finally:
                with self._lock:
                    self.running.discard(job)
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
        for _ in self._threads:
            try:
                self._q.put_nowait(None)
            except queue.Full:
                return
