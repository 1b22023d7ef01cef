"""MCP tools under Qwen-Agent's names: ``server-tool`` (agentkit's task.yaml naming stays bare)."""

from __future__ import annotations

from typing import Any


def qwen_agent_names(toolset: Any) -> None:
    """Rename the toolset's MCP tools in place to ``{server}-{tool}``, as Qwen-Agent's MCPManager does."""
    renamed = []
    for tool in list(toolset):
        server = getattr(tool, "server", None)
        if server and not tool.name.startswith(f"{server}-"):
            renamed.append(tool)
    for tool in renamed:
        old = tool.name
        tool.name = f"{tool.server}-{getattr(tool, 'real_name', None) or old}"
        toolset.replace([old], [tool])
