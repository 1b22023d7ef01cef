"""``--ray``: the items sharded over Ray actors, each running the one-process batch loop with its share of
the concurrency next to its own MCP servers; results stream back to the driver, which writes the file.

The driver hands each actor a few more items than it runs at once and takes results back as they finish.
An actor lost mid-batch (its node or process died): the items it held and had not returned are put back
in the queue and run by the others. An item counts as done only once its line is in the driver's file.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
import sys
from collections import deque
from typing import Any

from agentkit.batching.engine import BatchFailed, open_runner
from agentkit.batching.items import BatchInputError, Item

START_TIMEOUT_S = 300.0
"""How long the workers may take to be placed and to open their endpoints and MCP servers."""
_LOCAL_OBJECT_STORE = 200 * 1024**2
"""A local cluster started for one batch moves only small result lines: a small object store will do."""


class BatchWorker:
    """One Ray actor (``ray.remote`` is applied by the driver, so this module imports without Ray)."""

    def __init__(self, task: Any, concurrency: int, per_endpoint: int, retries: int, mcp_servers: str | None):
        self.task, self.concurrency, self.retries = task, concurrency, retries
        self.per_endpoint, self.mcp_servers = per_endpoint, mcp_servers
        self.inbox: asyncio.Queue[Item] = asyncio.Queue()
        self.outbox: list[dict[str, Any]] = []
        self.has_output = asyncio.Event()
        self.failure: BaseException | None = None
        self.main: asyncio.Future[None] | None = None

    async def start(self) -> str:
        """Open the model client and tools; returns where this worker runs (``host:pid``)."""
        where = f"{socket.gethostname()}:{os.getpid()}"
        started = asyncio.Event()
        self.main = asyncio.ensure_future(self._serve(started, where))
        await started.wait()
        if self.failure is not None:
            raise self.failure
        return where

    async def _serve(self, started: asyncio.Event, where: str) -> None:
        import anyio

        try:
            async with open_runner(
                self.task,
                per_endpoint=self.per_endpoint,
                mcp_servers=self.mcp_servers,
                extra={"worker": where},
            ) as runner:
                started.set()
                async with anyio.create_task_group() as group:
                    for _ in range(self.concurrency):
                        group.start_soon(self._work, runner)
        except Exception as exc:
            self.failure = exc
            started.set()

    async def _work(self, runner: Any) -> None:
        while True:
            item = await self.inbox.get()
            record = await runner.run(item, self.retries)
            self.outbox.append(record)  # the list of now: ``take`` swaps it for a new one
            self.has_output.set()

    async def submit(self, items: list[Item]) -> None:
        for item in items:
            self.inbox.put_nowait(item)

    async def take(self, wait: float) -> list[dict[str, Any]]:
        """The results finished since the last call, waiting up to ``wait`` seconds for the first."""
        if not self.outbox:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.has_output.wait(), wait)
        if self.failure is not None:
            raise self.failure
        out, self.outbox = self.outbox, []
        self.has_output.clear()
        return out

    async def stop(self) -> None:
        if self.main is not None:
            self.main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.main


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BatchInputError(
            "--ray needs Ray: pip install 'agentkit[ray]' (or pip install ray) here and on every node"
        ) from None
    return ray


def _address(batch: Any) -> str | None:
    return batch.ray if isinstance(batch.ray, str) and batch.ray else None


def _starts_local_cluster(batch: Any) -> bool:
    """No address given, none in ``$RAY_ADDRESS``: ``ray.init`` starts a cluster on this machine."""
    return _address(batch) is None and not os.environ.get("RAY_ADDRESS")


def _worker_task(batch: Any) -> tuple[Any, list[str]]:
    """The task each worker runs: the shared endpoints, plus the local one when given."""
    endpoint = batch.task.model.endpoint
    shared = [endpoint] if isinstance(endpoint, str) else list(endpoint or [])
    urls = shared + ([batch.local_endpoint] if batch.local_endpoint else [])
    if not urls:
        raise BatchInputError(
            "--ray needs the model endpoints the workers use: set model.endpoint in the task, pass "
            "--endpoint URL (repeat for replicas), or --local-endpoint URL (a server on each node)"
        )
    task = copy.copy(batch.task)
    task.model = batch.task.model.model_copy(update={"endpoint": urls})
    return task, shared


async def run_on_ray(batch: Any, deliver: Any) -> None:
    """Run ``batch.todo`` on Ray actors; each result goes to ``deliver`` once."""

    if _starts_local_cluster(batch) and "ray" not in sys.modules:
        # Ray's switch for a one-machine cluster: every process of it on the loopback address (read when
        # Ray is imported, and inherited by its processes)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _import_ray()
    task, shared = _worker_task(batch)
    with contextlib.redirect_stdout(sys.stderr):  # Ray's own messages (a worker died...) are not our output
        await _run_on_ray(ray, batch, task, shared, deliver)


async def _run_on_ray(ray: Any, batch: Any, task: Any, shared: list[str], deliver: Any) -> None:
    from agentkit.batching.engine import DEFAULT_PER_ENDPOINT

    started_here = not ray.is_initialized()
    if started_here:
        extra: dict[str, Any] = {}
        if _starts_local_cluster(batch):
            extra = {"num_cpus": max(batch.workers or 1, os.cpu_count() or 1)}
            extra["object_store_memory"] = _LOCAL_OBJECT_STORE
        ray.init(address=_address(batch), include_dashboard=False, log_to_driver=False, **extra)
    try:
        workers = batch.workers or max(1, len([n for n in ray.nodes() if n.get("Alive")]))
        per_endpoint = batch.per_endpoint or task.batch.per_endpoint or DEFAULT_PER_ENDPOINT
        total = batch.concurrency or per_endpoint * max(1, len(shared) or 1)
        share = max(1, -(-min(total, len(batch.todo)) // workers))
        actor_class = ray.remote(num_cpus=1, scheduling_strategy="SPREAD", max_restarts=0)(BatchWorker)
        actors = [
            actor_class.remote(task, share, max(1, per_endpoint // workers), batch.retries, batch.mcp_servers)
            for _ in range(workers)
        ]
        try:
            try:
                await asyncio.wait_for(asyncio.gather(*(a.start.remote() for a in actors)), START_TIMEOUT_S)
            except asyncio.TimeoutError:
                raise BatchFailed(
                    f"Ray did not start {workers} batch workers within {START_TIMEOUT_S:g} s: each needs 1 CPU "
                    f"and the cluster has {ray.available_resources().get('CPU', 0):g} free; pass fewer --workers"
                ) from None
            except ray.exceptions.RayError as exc:  # e.g. the endpoint does not answer from that node
                cause = getattr(exc, "cause", None) or exc
                raise BatchFailed(f"a Ray batch worker could not start: {cause}") from None
            await _feed_all(ray, actors, batch, share, deliver)
        finally:
            for actor in actors:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(actor.stop.remote(), 5)
                with contextlib.suppress(Exception):
                    ray.kill(actor)
    finally:
        if started_here:
            ray.shutdown()


async def _feed_all(ray: Any, actors: list[Any], batch: Any, share: int, deliver: Any) -> None:
    pending: deque[Item] = deque(batch.todo)
    remaining = [len(batch.todo)]
    lost: list[int] = []

    async def feed(index: int, actor: Any) -> None:
        mine: dict[str, Item] = {}
        while remaining[0] > 0:
            room = 2 * share - len(mine)
            chunk = [pending.popleft() for _ in range(min(room, len(pending)))]
            try:
                if chunk:
                    mine.update((item.id, item) for item in chunk)
                    await actor.submit.remote(chunk)
                if not mine:
                    await asyncio.sleep(0.2)  # idle until a lost worker's items come back, or the end
                    continue
                records = await actor.take.remote(1.0)
            except ray.exceptions.RayError as exc:
                pending.extendleft(reversed(list(mine.values())))
                lost.append(index)
                if batch.notice:
                    batch.notice(
                        f"Ray worker {index} was lost ({type(exc).__name__}); its {len(mine)} unfinished "
                        "items run again on the others"
                    )
                return
            for record in records:
                if mine.pop(str(record["id"]), None) is not None:
                    remaining[0] -= 1
                    await deliver(record)

    await asyncio.gather(*(feed(i, actor) for i, actor in enumerate(actors)))
    if remaining[0] > 0:
        raise BatchFailed(
            f"every Ray worker was lost ({len(lost)} of {len(actors)}); {remaining[0]} items are not done. "
            "The finished ones are in the output: run the same command again to do the rest"
        )
