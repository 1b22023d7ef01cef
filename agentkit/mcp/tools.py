"""MCP tools as agentkit ``Tool``s: one per server tool, and ``read_resource`` for a server's resources."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from agentkit.mcp.tasks import needs_task
from agentkit.tooling.base import ToolContext, ToolResult
from agentkit.tooling.schema import inline_refs, strip_titles

if TYPE_CHECKING:
    from agentkit.mcp.provider import MCPServerProvider

RESOURCE_TOOL = "read_resource"


class MCPTool:
    """One tool of an MCP server, under the name the model sees."""

    def __init__(self, provider: MCPServerProvider, name: str, spec: Any):
        self.name = name
        self.real_name: str = spec.name
        self.server = provider.name
        self.description: str = spec.description or spec.title or ""
        self.parameters: dict[str, Any] = tool_parameters(spec.input_schema)
        self.annotations: dict[str, Any] = (
            spec.annotations.model_dump(exclude_none=True, by_alias=True) if spec.annotations else {}
        )
        self.timeout = own_timeout(provider)
        self.exclusive = self.annotations.get("readOnlyHint") is not True and not provider.config.concurrent
        """Whether calls wait for the server's earlier writing calls (and it for them): see ``call_tool``."""
        self.as_task = needs_task(spec)
        """The tool runs only as an MCP task (``execution.taskSupport: required``)."""
        self._provider = provider

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r} → {self.server}:{self.real_name})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self._provider.call_tool(
            self.real_name, arguments, ctx, exclusive=self.exclusive, as_task=self.as_task
        )


class MCPResourceTool:
    """``read_resource``: the server's resources, for a model to read by URI (``resources: true``)."""

    real_name = RESOURCE_TOOL
    annotations = {"readOnlyHint": True}

    def __init__(self, provider: MCPServerProvider, name: str, resources: list[Any], templates: list[str]):
        self.name = name
        self.server = provider.name
        listed = [
            f"{r.uri} ({r.name}{': ' + r.description if r.description else ''})" for r in resources[:30]
        ]
        more = f" and {len(resources) - 30} more" if len(resources) > 30 else ""
        self.description = (
            f"Read a resource of the MCP server {provider.name!r} by its URI. "
            + (f"Resources: {'; '.join(listed)}{more}. " if listed else "")
            + (f"URI templates: {', '.join(templates)}." if templates else "")
        ).strip()
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {"uri": {"type": "string", "description": "the resource's URI"}},
            "required": ["uri"],
        }
        self.timeout = own_timeout(provider)
        self._provider = provider

    def __repr__(self) -> str:
        return f"MCPResourceTool({self.name!r} → {self.server})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        uri = arguments.get("uri")
        if not isinstance(uri, str) or not uri:
            return ToolResult.error(f"{self.name} needs a `uri` string argument")
        return await self._provider.read_resource(uri)


def own_timeout(provider: MCPServerProvider) -> float | None:
    """The server's ``call_timeout`` when its config sets one (``inf``: no limit): the agent loop then uses it
    instead of the task's ``tool_timeout``. None: the task's limit applies."""
    config = provider.config
    if not config.call_timeout_set:
        return None
    return config.call_timeout or math.inf


def signature(tools: list[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(t.name, t.description, t.parameters) for t in tools]


def tool_parameters(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's input schema, ``$ref``s inlined, always an object with ``properties``."""
    flat = strip_titles(inline_refs(schema or {}))
    flat["type"] = "object"
    flat.setdefault("properties", {})
    return flat
