"""One background event loop per agent, so sync ``run()`` calls share the agent's open MCP servers.

The loop thread starts on first use and ends on ``close()``, the context manager's exit, or at
interpreter exit (``atexit``), after closing what runs on it (tool servers end with it: no orphans).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any

_DONE = object()


class BackgroundLoop:
    def __init__(self, name: str = "agentkit-assistant-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._finalizer: Any = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                # also runs at interpreter exit, after the finalizers of agents created later (their
                # servers close first): weakref.finalize runs newest first
                self._finalizer = weakref.finalize(self, _stop, loop, thread)
            return self._loop

    def submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._start())

    def call(self, coro: Any, timeout: float | None = None) -> Any:
        return self.submit(coro).result(timeout)

    def iterate(self, make: Callable[[], AsyncIterator[Any]]) -> Iterator[Any]:
        """Items of an async iterator run on the loop, as a sync iterator; leaving early cancels it."""
        items: queue.Queue[Any] = queue.Queue(maxsize=256)
        stop = threading.Event()
        started = threading.Event()
        finished = threading.Event()  # set once the iterator's own clean-up has run on the loop

        async def pump() -> None:
            started.set()
            try:
                async for item in make():
                    while not stop.is_set():
                        try:
                            items.put_nowait(item)
                            break
                        except queue.Full:
                            await asyncio.sleep(0.01)
                    if stop.is_set():
                        return
                items.put(_DONE)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer's thread
                items.put(exc)
            finally:
                finished.set()

        future = self.submit(pump())
        try:
            while True:
                item = items.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:  # done, or the consumer left (Ctrl-C, break): cancel the run, its tools
            stop.set()
            if not future.done():
                # a cancelled concurrent Future reports at once, before the task's clean-up has run on
                # the loop: wait for that clean-up (tools stopped, the run's record kept) itself
                future.cancel()
                if started.is_set():  # a task cancelled before it ran has nothing to clean up
                    finished.wait(timeout=30)

    def close(self, cleanup: Any = None, timeout: float = 30) -> None:
        """Run ``cleanup`` (a coroutine) on the loop, then stop it and join its thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            if cleanup is not None:
                cleanup.close()
            return
        on_loop = threading.current_thread() is self._thread
        try:
            if cleanup is not None:
                done = asyncio.run_coroutine_threadsafe(cleanup, loop)
                if not on_loop:  # never wait for the loop from its own thread
                    done.result(timeout)
        finally:
            with self._lock:
                self._loop, self._thread = None, None
            if self._finalizer is not None:
                self._finalizer()


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Cancel what still runs on the loop (so ``async with`` blocks close their servers), then stop it."""
    if loop.is_closed() or not thread.is_alive():
        return

    async def cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await loop.shutdown_asyncgens()

    if threading.current_thread() is not thread:
        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=15)
        except Exception:  # best effort: the loop stops regardless
            pass
    loop.call_soon_threadsafe(loop.stop)
    if threading.current_thread() is not thread:
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
