"""The tool calls of one step: each started the moment its call is complete, bounded, results in call order.

A call starts as soon as the model stream reports it complete and valid (``ToolCallComplete``), while the
model may still be writing the next one; a call that turns out invalid is never started. Starting is
keyed by the call's index, so a call that streams again (a restarted stream) never runs twice: the
call that ran is the one kept in history.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from agentkit.agent.records import ToolCallRecord
from agentkit.qwen3.types import InvalidToolCall, ParsedOutput, ToolCall
from agentkit.tooling.base import ToolResult

if sys.version_info < (3, 11):  # anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup

AnyCall = ToolCall | InvalidToolCall
CallRunner = Callable[[AnyCall, ToolCallRecord], Awaitable[ToolResult]]


def _record(call: AnyCall) -> ToolCallRecord:
    arguments = call.arguments if isinstance(call, ToolCall) else call.raw
    return ToolCallRecord(call.id, call.name or "", arguments)


class StepTools:
    """Runs one step's calls in ``group`` under ``limiter`` with ``run_call``; see the module docstring."""

    def __init__(self, group: TaskGroup, limiter: anyio.CapacityLimiter, run_call: CallRunner) -> None:
        self._group = group
        self._limiter = limiter
        self._run_call = run_call
        self._started: dict[int, tuple[AnyCall, ToolCallRecord, anyio.Event, list[ToolResult]]] = {}

    @property
    def started(self) -> int:
        """How many calls have started."""
        return len(self._started)

    def start(self, call: AnyCall) -> None:
        """Start ``call`` now unless a call with its index already started."""
        if call.index in self._started:
            return
        done, box = anyio.Event(), []
        record = _record(call)
        self._started[call.index] = (call, record, done, box)

        async def run() -> None:
            try:
                async with self._limiter:
                    box.append(await self._run_call(call, record))
            finally:
                done.set()

        self._group.start_soon(run)

    def reconcile(self, parsed: ParsedOutput) -> list[AnyCall]:
        """The step's calls in order, the ones that started replacing what a restarted stream made of
        them (so history holds what ran); ``parsed`` is updated to match."""
        by_index = {c.index: c for c in parsed.all_calls()}
        for index, (call, *_rest) in self._started.items():
            by_index[index] = call
        calls = [by_index[i] for i in sorted(by_index)]
        parsed.tool_calls = [c for c in calls if isinstance(c, ToolCall)]
        parsed.invalid_tool_calls = [c for c in calls if isinstance(c, InvalidToolCall)]
        return calls

    async def results(self, calls: list[AnyCall]) -> tuple[list[ToolResult], list[ToolCallRecord]]:
        """Start what has not started, wait for all; results and records in call order."""
        for call in calls:
            self.start(call)
        results, records = [], []
        for call in calls:
            _call, record, done, box = self._started[call.index]
            await done.wait()
            if not box:  # its task failed; the task group reports why
                raise RuntimeError(f"the run of tool call {call.id} ended without a result")
            results.append(box[0])
            records.append(record)
        return results, records

    async def wait_started(self) -> tuple[list[AnyCall], list[ToolResult], list[ToolCallRecord]]:
        """Wait for the calls already started (the step ends without starting more)."""
        calls = [self._started[i][0] for i in sorted(self._started)]
        results, records = await self.results(calls)
        return calls, results, records


@asynccontextmanager
async def tool_tasks() -> AsyncIterator[TaskGroup]:
    """The task group a run's tool calls run in (cancelled if the run fails). An error of the block
    itself (the model stream failing) comes out as it was raised, not wrapped in an exception group."""
    try:
        async with anyio.create_task_group() as group:
            yield group
    except BaseExceptionGroup as group_error:
        errors = group_error.exceptions
        if len(errors) == 1:
            raise errors[0] from None
        raise
