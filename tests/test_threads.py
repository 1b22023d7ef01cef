"""run_blocking: blocking calls on reused daemon workers that a cancelled wait walks away from."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from agentkit.tooling.threads import run_blocking


@pytest.mark.anyio
async def test_values_and_errors_come_back_and_workers_are_reused():
    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "agentkit worker"}

    before = workers()
    used = [await run_blocking(lambda: threading.current_thread()) for _ in range(20)]
    assert all(t.daemon for t in used) and threading.main_thread() not in used
    # one call after another: an idle worker is reused (a second one only if a worker left idle by an
    # earlier test timed out and exited just then)
    assert len(set(used)) <= 2
    assert len(workers()) <= len(before) + 1
    with pytest.raises(ValueError, match="bad"):
        await run_blocking(lambda: (_ for _ in ()).throw(ValueError("bad")))


@pytest.mark.anyio
async def test_a_cancelled_wait_returns_at_once_and_other_calls_still_run():
    release = threading.Event()
    try:
        started = time.perf_counter()
        with anyio.move_on_after(0.1):
            await run_blocking(lambda: release.wait(10))
        assert time.perf_counter() - started < 1
        results = []
        async with anyio.create_task_group() as group:
            for i in range(5):
                group.start_soon(lambda i=i: _append(results, i))
        assert sorted(results) == [0, 1, 2, 3, 4]
    finally:
        release.set()


async def _append(results: list[int], i: int) -> None:
    results.append(await run_blocking(lambda: i))


def test_a_result_for_a_stopped_loop_never_holds_a_worker():
    """An abandoned call that finishes after its event loop stopped must not block the worker that ran it
    (it counts as idle, so later calls would wait for it forever)."""
    import asyncio

    release = threading.Event()

    async def abandon() -> None:
        with anyio.move_on_after(0.05):
            await run_blocking(lambda: release.wait(5))

    stopped = asyncio.new_event_loop()
    stopped.run_until_complete(abandon())  # the loop stops, unclosed, like a test runner's between tests
    release.set()  # the abandoned call finishes now and reports to the stopped loop
    time.sleep(0.2)

    async def later() -> list[int]:
        with anyio.fail_after(5):
            return [await run_blocking(lambda i=i: i) for i in range(3)]

    try:
        assert asyncio.run(later()) == [0, 1, 2]
    finally:
        stopped.close()
