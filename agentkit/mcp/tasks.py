"""Task-augmented tool calls (MCP 2025-11-25 tasks), for tools declaring ``execution.taskSupport: required``.

The ``mcp`` SDK's client session sends no task requests itself, so this module does, over its
``send_request`` (and ``agentkit.mcp.sdk.send_as_is`` for the first request, whose answer the SDK would
reject): ``tools/call`` with a ``task`` (the server answers with a task at once), ``tasks/get``
every poll interval (its status message is reported as progress), ``tasks/result`` once the task is done
or needs input (that request carries the elicitation the server asks meanwhile), and ``tasks/cancel``
when the caller gives up (call timeout, Ctrl-C, a cancelled run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp.types as types
from mcp.client.session import ClientSession

from agentkit.mcp.sdk import send_as_is

TERMINAL = ("completed", "failed", "cancelled")
DEFAULT_POLL = 1.0
POLL_BOUNDS = (0.1, 5.0)
CANCEL_TIMEOUT = 5.0

Progress = Callable[[float, "float | None", "str | None"], Awaitable[None]]


def needs_task(spec: Any) -> bool:
    """Whether a listed tool can only be called as a task."""
    execution = getattr(spec, "execution", None)
    return getattr(execution, "task_support", None) == "required"


def server_runs_tool_tasks(capabilities: Any) -> bool:
    """Whether the server said it accepts task-augmented ``tools/call``."""
    tasks = getattr(capabilities, "tasks", None)
    requests = getattr(tasks, "requests", None)
    return getattr(requests, "tools", None) is not None and getattr(requests.tools, "call", None) is not None


async def call_as_task(
    session: ClientSession,
    name: str,
    arguments: dict[str, Any],
    *,
    ttl_seconds: float | None,
    progress: Progress | None,
) -> types.CallToolResult:
    """Run one tool call as a task and return its result; a cancelled caller cancels the task too."""
    ttl = int(ttl_seconds * 1000) if ttl_seconds else None
    request = types.CallToolRequest(
        params=types.CallToolRequestParams(name=name, arguments=arguments, task=types.TaskMetadata(ttl=ttl))
    )
    created = await send_as_is(session, request, types.CreateTaskResult)
    task_id = created.task.task_id
    try:
        status = created.task
        polls = 0
        while status.status not in TERMINAL and status.status != "input_required":
            await anyio.sleep(_interval(status.poll_interval))
            status = await session.send_request(
                types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id)), types.GetTaskResult
            )
            polls += 1
            if progress is not None and status.status_message:
                await progress(float(polls), None, status.status_message)
        result = await session.send_request(  # the payload of a tools/call task is its CallToolResult
            types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id)),
            types.CallToolResult,
        )
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_TIMEOUT):
            try:
                await session.send_request(
                    types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id)),
                    types.CancelTaskResult,
                )
            except Exception:
                pass  # the task ended meanwhile, or the server went away: nothing left to cancel
        raise
    if status.status in ("failed", "cancelled") and not result.content:
        why = status.status_message or f"the task was {status.status}"
        return types.CallToolResult(content=[types.TextContent(type="text", text=why)], is_error=True)
    return result


def _interval(suggested_ms: int | None) -> float:
    seconds = suggested_ms / 1000 if suggested_ms else DEFAULT_POLL
    return min(max(seconds, POLL_BOUNDS[0]), POLL_BOUNDS[1])
