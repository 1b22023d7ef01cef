"""``agentkit.batch(task, items, ...)``: the items not yet in the output run (here, or on Ray actors), and
each result is on disk before it is handed to the caller. An async iterator of result lines (dicts)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import anyio

from agentkit.batching.engine import open_runner, run_items
from agentkit.batching.items import Item, items_from
from agentkit.batching.results_file import ResultsFile

_END = object()


def _load_task(task: Any) -> Any:
    from agentkit.config import TaskConfig, load_task, load_task_dict

    if isinstance(task, TaskConfig):
        return task
    if isinstance(task, dict):
        return load_task_dict(task, Path.cwd())
    return load_task(task)


class Batch:
    """A batch ready to run: items read and checked, ids already in ``output`` skipped.

    ``async for record in batch: ...`` runs it; each record is the output line of one finished item (the
    ``run --json`` object plus ``id``, ``simulated`` and ``attempts``), in the order items finish.
    """

    def __init__(
        self,
        task: Any,
        items: str | Path | Iterable[Any],
        *,
        output: str | Path | None = None,
        concurrency: int | None = None,
        per_endpoint: int | None = None,
        retries: int | None = None,
        limit: int | None = None,
        redo_errors: bool = False,
        endpoints: list[str] | None = None,
        mcp_servers: str | None = None,
        ray: bool | str = False,
        workers: int | None = None,
        local_endpoint: str | None = None,
        allow_simulation: bool = False,
        notice: Callable[[str], None] | None = None,
    ):
        self.task = _load_task(task)
        if endpoints:  # on a copy: a task object passed in stays as it was
            self.task = copy.copy(self.task)
            self.task.model = self.task.model.model_copy(update={"endpoint": list(endpoints)})
        self.items: list[Item] = items_from(items, self.task.prompt)
        self.results = ResultsFile(output, redo_errors=redo_errors) if output is not None else None
        done = self.results.done if self.results else set()
        todo = [item for item in self.items if item.id not in done]
        self.skipped = len(self.items) - len(todo)
        self.todo = todo[:limit] if limit is not None else todo
        self.concurrency = concurrency or self.task.batch.concurrency
        self.per_endpoint = per_endpoint
        self.retries = self.task.batch.retries if retries is None else retries
        self.mcp_servers = mcp_servers
        self.ray, self.workers, self.local_endpoint = ray, workers, local_endpoint
        self.allow_simulation = allow_simulation
        self.notice = notice
        self._started = False

    @property
    def output(self) -> Path | None:
        return self.results.path if self.results else None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if self._started:
            raise RuntimeError("a Batch runs once; call agentkit.batch(...) again to resume it")
        self._started = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        # the batch runs in its own task, so that tool servers are opened and closed in one task even when
        # the caller stops iterating early
        driver = asyncio.ensure_future(self._drive(queue))
        try:
            while True:
                record = await queue.get()
                if record is _END:
                    break
                yield record
            await driver
        finally:
            if not driver.done():
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver
            if self.results:
                self.results.close()

    async def _drive(self, queue: asyncio.Queue[Any]) -> None:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
        failure: list[BaseException] = []

        async def run() -> None:
            try:
                if self.todo:
                    await self._run(send.send)
            except Exception as exc:  # the writer still drains what finished before it is raised
                failure.append(exc)
            finally:
                send.close()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._write, receive, queue)
                group.start_soon(run)
            if failure:
                raise failure[0]
        finally:
            queue.put_nowait(_END)

    async def _write(self, receive: Any, queue: asyncio.Queue[Any]) -> None:
        """Group commit: every result waiting is appended, then one fsync puts them all on disk, then they
        are reported. A result for an id already written (a Ray worker's late duplicate) is dropped."""
        async with receive:
            async for first in receive:
                batch = [first]
                while True:
                    try:
                        batch.append(receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                if self.results:
                    batch = self.results.write(batch)
                    await anyio.to_thread.run_sync(self.results.sync)
                for record in batch:
                    queue.put_nowait(record)

    async def _run(self, deliver: Callable[[dict[str, Any]], Any]) -> None:
        if self.ray is not False and self.ray is not None:
            from agentkit.batching.ray_pool import run_on_ray

            await run_on_ray(self, deliver)
            return
        async with open_runner(
            self.task,
            per_endpoint=self.per_endpoint,
            mcp_servers=self.mcp_servers,
            allow_simulation=self.allow_simulation,
            notice=self.notice,
        ) as runner:
            concurrency = self.concurrency or runner.default_concurrency
            await run_items(
                runner,
                self.todo,
                concurrency=min(concurrency, len(self.todo)),
                retries=self.retries,
                deliver=deliver,
            )


def batch(task: Any, items: str | Path | Iterable[Any], **options: Any) -> Batch:
    """Run ``task`` (a task.yaml path, a dict or a loaded task) over ``items`` (a .jsonl/.csv/.parquet path,
    or dicts / prompt strings); ``async for record in agentkit.batch(...)`` yields each finished item.

    Options: ``output`` (a results file: written as items finish, resumed on the next run),
    ``concurrency``, ``per_endpoint``, ``retries``, ``limit``, ``redo_errors``, ``endpoints``,
    ``mcp_servers`` (``shared``/``per_item``), ``ray`` (True or a cluster address), ``workers``,
    ``local_endpoint``."""
    return Batch(task, items, **options)
