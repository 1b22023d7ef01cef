"""Qwen-Agent interop: its tool objects behind agentkit's tool interface."""

from __future__ import annotations

import json
from typing import Any

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit.tooling.decorator import to_tool_result
from agentkit.tooling.threads import run_blocking


def _schema(parameters: Any) -> dict[str, Any]:
    """Qwen-Agent parameters (a JSON schema, or its older list of ``{name, type, description, required}``)."""
    if isinstance(parameters, dict):
        return parameters
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in parameters or []:
        prop = {k: v for k, v in p.items() if k not in ("name", "required")}
        properties[p["name"]] = prop
        if p.get("required"):
            required.append(p["name"])
    return {"type": "object", "properties": properties, "required": required}


def is_qwen_agent_tool(obj: Any) -> bool:
    """A Qwen-Agent ``BaseTool`` instance (its ``call`` takes a JSON string, not our arguments and context)."""
    return any(cls.__module__.startswith("qwen_agent.") for cls in type(obj).__mro__)


class QwenAgentTool:
    """Wraps a Qwen-Agent ``BaseTool`` (``call(params: str, **kwargs)``, sync) as an agentkit Tool."""

    def __init__(self, tool: Any):
        self.tool = tool
        self.name: str = tool.name
        self.description: str = getattr(tool, "description", "") or ""
        self.parameters: dict[str, Any] = _schema(getattr(tool, "parameters", {}))

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = json.dumps(arguments, ensure_ascii=False)
        value = await run_blocking(lambda: self.tool.call(params))
        if isinstance(value, list):  # Qwen-Agent's list of ContentItem
            texts = [
                getattr(item, "text", None) or (item.get("text") if isinstance(item, dict) else None)
                for item in value
            ]
            return ToolResult("\n".join(t for t in texts if t))
        return to_tool_result(value)
