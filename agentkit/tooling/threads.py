"""Blocking calls (sync tools, a terminal prompt) in a thread that a timeout or Ctrl-C can walk away from."""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

_IDLE_EXIT_S = 10.0
_jobs: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]]] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0
"""Waiting workers not yet promised a job: waiting workers = ``_idle`` + jobs in the queue."""


def _worker() -> None:
    global _idle
    while True:
        try:
            work, notify = _jobs.get(timeout=_IDLE_EXIT_S)
        except queue.Empty:
            with _lock:
                if _idle:  # more waiting workers than queued jobs: this one may go
                    _idle -= 1
                    return
            continue
        work()
        with _lock:  # idle before the waiter hears back, so its next call finds this worker
            _idle += 1
        notify()


def _submit(work: Callable[[], None], notify: Callable[[], None]) -> None:
    """Run ``work`` then ``notify`` on an idle daemon worker, or on a new one when none is idle."""
    global _idle
    with _lock:
        spawn = not _idle
        if not spawn:
            _idle -= 1
    _jobs.put((work, notify))
    if spawn:
        threading.Thread(target=_worker, name="agentkit worker", daemon=True).start()


async def run_blocking(func: Callable[[], T]) -> T:
    """Run ``func()`` on a daemon worker thread and wait for it, cancellably (asyncio backend).

    A thread cannot be stopped, so a cancelled wait (a tool's timeout, Ctrl-C) returns at once and
    abandons the call; the worker is a daemon, so it never holds up the process's exit (anyio's own
    worker threads would: they are joined when the interpreter shuts down). Calls running at once are
    bounded by anyio's default thread limiter.
    """
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(func)
        except BaseException as exc:  # handed to the waiting task
            outcome["error"] = exc

    def notify() -> None:
        # Never blocks: a loop that has stopped (an abandoned wait outliving its run) must not hold the
        # worker, which already counts as idle.
        try:
            loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # the event loop is closed: nobody waits for this result any more
            pass

    async with anyio.to_thread.current_default_thread_limiter():  # at most as many as anyio's own (40)
        _submit(work, notify)
        await done.wait()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
