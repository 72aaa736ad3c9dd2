"""Spreading whole files over processes, with the parent working too.

On a 2-core laptop a pool of 2 workers leaves the parent idle and still pays for two
children; here ``processes=2`` means the parent plus one forked child, pulling jobs from
one shared queue (so a slow file never leaves a core idle), which is what lets the data
stages scale close to 2x. Results come back unordered as ``(index, result)``; an exception
in a child is re-raised in the parent.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_mod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

_STOP = None


def _child(fn, jobs: Sequence, tasks, results) -> None:
    while True:
        index = tasks.get()
        if index is _STOP:
            return
        try:
            results.put((index, fn(jobs[index]), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent to raise
            results.put((index, None, exc))


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence, processes: int = 1) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(jobs[index]))`` for every job, using up to ``processes`` processes."""
    if processes <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            yield i, fn(job)
        return
    ctx = multiprocessing.get_context("fork")  # children inherit loaded tokenizers and config
    tasks, results = ctx.Queue(), ctx.Queue()
    children = [ctx.Process(target=_child, args=(fn, jobs, tasks, results), daemon=True)
                for _ in range(min(processes, len(jobs)) - 1)]
    for child in children:  # fork before the queues' feeder threads exist
        child.start()
    for i in range(len(jobs)):
        tasks.put(i)
    for _ in children:
        tasks.put(_STOP)
    done = 0
    try:
        while done < len(jobs):
            # Drain finished results first, then take a job ourselves while any are left.
            try:
                index, result, error = results.get_nowait()
            except queue_mod.Empty:
                try:
                    index = tasks.get_nowait()
                except queue_mod.Empty:
                    index = _STOP
                if index is not _STOP:
                    yield index, fn(jobs[index])
                    done += 1
                    continue
                if children:
                    tasks.put(_STOP)  # that marker belongs to a child
                index, result, error = results.get()
            if error is not None:
                raise error
            yield index, result
            done += 1
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
