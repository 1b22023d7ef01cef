"""The batch loop of one process: one model client and (by default) one set of MCP servers shared by all
items, a bounded number of items in flight, failed items recorded (and retried when asked), never raised."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio

from agentkit.agent.records import RunResult
from agentkit.batching.items import Item
from agentkit.llm.http import backoff_delay

OUTAGE_WAIT_S = 600.0
"""How long an item waits, over its tries, for a model endpoint that stopped answering (a server being
restarted) before it is recorded as failed; the try it waited for is not counted against ``--retries``."""
_UNREACHABLE = "cannot reach the model endpoint"
DEFAULT_PER_ENDPOINT = 256
"""Model requests in flight per endpoint when neither the task nor a flag says: vLLM's default
``--max-num-seqs`` (the most sequences it batches at once)."""


class BatchFailed(Exception):
    """The batch could not go on (every Ray worker lost); what finished is in the output."""


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


def error_record(prompt: str, error: str) -> dict[str, Any]:
    """The ``run --json`` object of a run that failed before or outside the agent loop."""
    return RunResult("", "error", [{"role": "user", "content": prompt}], [], error).to_json()


class ItemRunner:
    """Runs one item on the task's agent: the shared one, or one with its own MCP servers (``per_item``)."""

    def __init__(
        self,
        task: Any,
        llm: Any,
        toolset: Any,
        tools: tuple[list[Any], dict[str, Any]],
        *,
        per_endpoint: int,
        outage_wait: float = OUTAGE_WAIT_S,
        simulated: bool = False,
        extra: dict[str, Any] | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        from agentkit.runtime import make_agent

        self.task, self.llm, self.tools = task, llm, tools
        self.per_endpoint, self.outage_wait = per_endpoint, outage_wait
        self.simulated, self.extra, self.notice = simulated, extra or {}, notice
        self.shared = make_agent(task, llm, toolset, tools[1]) if toolset is not None else None
        self.endpoints = len(getattr(llm, "endpoints", None) or [None])

    @property
    def default_concurrency(self) -> int:
        """Enough items in flight to fill every endpoint's request slots."""
        return self.per_endpoint * self.endpoints

    async def _run_once(self, prompt: str) -> dict[str, Any]:
        if self.shared is not None:
            return (await self.shared.run(prompt)).to_json()
        from agentkit.runtime import make_agent, open_toolset

        async with open_toolset(self.task, self.llm, self.tools[0], notice=self.notice) as toolset:
            return (await make_agent(self.task, self.llm, toolset, self.tools[1]).run(prompt)).to_json()

    async def _try(self, prompt: str) -> dict[str, Any]:
        try:
            return await self._run_once(prompt)
        except Exception as exc:  # a tool server that would not start, a bug: the item fails, not the batch
            return error_record(prompt, f"{type(exc).__name__}: {exc}")

    async def run(self, item: Item, retries: int) -> dict[str, Any]:
        """The item's result line: ``id``, the ``run --json`` object, ``simulated``, ``attempts``."""
        attempt, waited, outages = 0, 0.0, 0
        while True:
            attempt += 1
            record = await self._try(item.prompt)
            if record["status"] != "error":
                break
            if str(record.get("error", "")).startswith(_UNREACHABLE) and waited < self.outage_wait:
                outages += 1
                delay = min(backoff_delay(outages, cap=30.0), self.outage_wait - waited)
                waited += delay
                attempt -= 1  # the endpoint was down: the item itself did not fail
                await anyio.sleep(delay)
                continue
            if attempt > retries:
                break
            await anyio.sleep(backoff_delay(attempt))
        return {"id": item.id, **record, "simulated": self.simulated, "attempts": attempt, **self.extra}


@asynccontextmanager
async def open_runner(
    task: Any,
    *,
    per_endpoint: int | None = None,
    mcp_servers: str | None = None,
    allow_simulation: bool = False,
    notice: Callable[[str], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> AsyncIterator[ItemRunner]:
    """The model endpoint(s), each bounded to ``per_endpoint`` requests in flight, and the tools, opened once."""
    from agentkit.config import resolve_tools
    from agentkit.runtime import open_llm, open_toolset

    notices: list[str] = []

    def note(line: str) -> None:
        notices.append(line)
        if notice is not None:
            notice(line)

    async with AsyncExitStack() as stack:
        llm = await stack.enter_async_context(open_llm(task, allow_simulation=allow_simulation, notice=note))
        if hasattr(llm, "resolve"):
            await llm.resolve()  # a wrong or dead endpoint fails the batch now, not each item
        bound = per_endpoint or task.batch.per_endpoint or DEFAULT_PER_ENDPOINT
        for endpoint in getattr(llm, "endpoints", []):
            endpoint.limit(bound)
        tools = resolve_tools(task)
        toolset = None
        if (mcp_servers or task.batch.mcp_servers) == "shared" or not task.mcp_servers:
            toolset = await stack.enter_async_context(open_toolset(task, llm, tools[0], notice=note))
        simulated = any(line.startswith("SIMULATION") for line in notices)
        yield ItemRunner(
            task, llm, toolset, tools, per_endpoint=bound, simulated=simulated, extra=extra, notice=note
        )


async def run_items(
    runner: ItemRunner, items: Iterable[Item], *, concurrency: int, retries: int, deliver: Deliver
) -> None:
    """Run ``items`` with at most ``concurrency`` in flight; each result goes to ``deliver`` as it finishes."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one shared iterator: each item is taken by exactly one worker
            await deliver(await runner.run(item, retries))

    async with anyio.create_task_group() as group:
        for _ in range(max(1, concurrency)):
            group.start_soon(worker)
