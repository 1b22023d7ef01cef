"""Blocking calls (sync tools, a terminal prompt) in a thread that a timeout or Ctrl-C can walk away from."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

T = TypeVar("T")


async def run_blocking(func: Callable[[], T], *, name: str = "agentkit blocking call") -> T:
    """Run ``func()`` in a daemon thread and wait for it, cancellably.

    A thread cannot be stopped, so a cancelled wait (a tool's timeout, Ctrl-C) returns at once and
    abandons the thread; being a daemon, it never holds up the process's exit (anyio's own worker
    threads would: they are joined when the interpreter shuts down).
    """
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(func)
        except BaseException as exc:  # handed to the waiting task
            outcome["error"] = exc
        try:
            anyio.from_thread.run_sync(done.set, token=token)
        except RuntimeError:  # the event loop has ended: nobody waits for this result any more
            pass

    threading.Thread(target=target, name=name, daemon=True).start()
    await done.wait()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
