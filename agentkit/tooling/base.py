"""The one tool interface: in-process Python tools and MCP tools both sit behind it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ProgressCallback = Callable[[float, "float | None", "str | None"], Awaitable[None]]


@dataclass(slots=True)
class ToolResult:
    """What a tool returns. ``text`` is what the model sees; the rest is kept for ``--json`` output."""

    text: str
    is_error: bool = False
    structured: Any = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """Non-text parts (images, embedded resources) as JSON-able dicts, summarised in ``text``."""

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(text=message, is_error=True)


@dataclass(slots=True)
class ToolContext:
    """Per-call context handed to a tool."""

    call_id: str = ""
    progress: ProgressCallback | None = None

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        if self.progress is not None:
            await self.progress(progress, total, message)


@runtime_checkable
class Tool(Protocol):
    """A callable tool. ``parameters`` is a JSON schema object describing the arguments.

    Optional: a ``timeout`` attribute (seconds, or None) is the tool's own time limit per call, which the
    loop uses instead of its default ``tool_timeout`` (a task's per-tool ``timeout:`` still wins)."""

    name: str
    description: str
    parameters: dict[str, Any]

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult: ...


def openai_schema(tool: Tool) -> dict[str, Any]:
    """The ``{"type": "function", "function": {...}}`` entry for a tool, key order as Qwen3 templates expect."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


class ToolProvider(Protocol):
    """A source of tools with a lifetime (an MCP server, say). Entered before the run, closed after."""

    name: str

    async def start(self) -> list[Tool]: ...

    async def aclose(self) -> None: ...
