"""MCP tools under Qwen-Agent's names (agentkit's task.yaml naming stays as it is).

Qwen-Agent's MCPManager names a server's tools ``{server}-{tool}`` and, for a server with resources,
adds ``{server}-list_resources`` and ``{server}-read_resource``. The compat agents ask every server for
its resources (``resources: true``) and rename here; ``list_resources`` answers from the listing the
server gave at start (agentkit's provider follows ``resources/list_changed``).
"""

from __future__ import annotations

from typing import Any

from agentkit.tooling.base import ToolContext, ToolResult


def with_resources(servers: dict[str, Any]) -> dict[str, Any]:
    """Server configs that also offer the servers' resources, unless a config says otherwise."""
    return {
        name: {**cfg, "resources": cfg.get("resources", True)} if isinstance(cfg, dict) else cfg
        for name, cfg in servers.items()
    }


class ListResources:
    """``{server}-list_resources``: the server's resources and URI templates, one per paragraph."""

    parameters: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    annotations = {"readOnlyHint": True}

    def __init__(self, reader: Any):
        self.server = reader.server
        self.name = f"{reader.server}-list_resources"
        self.real_name = "list_resources"
        self.description = (
            f"List the resources (and URI templates) of the MCP server {reader.server!r}; read one with "
            f"{reader.server}-read_resource."
        )
        self.timeout = reader.timeout
        self._reader = reader

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        provider = self._reader._provider
        lines = [
            f"uri={r.uri} name={r.name}" + (f" description={r.description}" if r.description else "")
            for r in getattr(provider, "_resources", [])
        ]
        lines += [f"template={t}" for t in getattr(provider, "_templates", [])]
        return ToolResult("\n\n".join(lines) or "No resources found")


class Renamed:
    """One of a provider's MCP tools under its Qwen-Agent name (the provider's own object is untouched)."""

    def __init__(self, tool: Any, name: str):
        self._tool = tool
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._tool, attr)

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self._tool.call(arguments, ctx)


def _renamed(tools: list[Any]) -> list[Any]:
    out: list[Any] = []
    for tool in tools:
        real = getattr(tool, "real_name", None) or tool.name
        renamed = Renamed(tool, f"{tool.server}-{real}")
        if real == "read_resource":
            out.append(ListResources(renamed))
        out.append(renamed)
    return out


def qwen_agent_names(toolset: Any) -> None:
    """Show the toolset's MCP tools as ``{server}-{tool}`` (plus ``list_resources``), now and whenever a
    server's tool list changes."""
    for provider in getattr(toolset, "providers", []):
        server = provider.name

        def on_change(_old: list[str], tools: list[Any], server: str = server) -> None:
            ours = [n for n in toolset.names() if getattr(toolset.get(n), "server", None) == server]
            toolset.replace(ours, _renamed(list(tools)))

        on_change([], [t for t in toolset if getattr(t, "server", None) == server])
        provider.follow(on_change)
