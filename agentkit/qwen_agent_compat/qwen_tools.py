"""Qwen-Agent tool objects (`BaseTool`) behind agentkit's tool interface."""

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
        self.files: list[str] = []
        """The agent's and the conversation's files, passed to tools with ``file_access`` as Qwen-Agent does."""

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = json.dumps(arguments, ensure_ascii=False)
        kwargs = {"files": list(self.files)} if getattr(self.tool, "file_access", False) else {}
        value = await run_blocking(lambda: self.tool.call(params, **kwargs))
        if isinstance(value, str):
            return ToolResult(value)
        if isinstance(value, list) and all(hasattr(i, "get_type_and_value") for i in value):
            return content_items_result(value)
        if isinstance(value, (dict, list)):  # Qwen-Agent shows other results as indented JSON
            return ToolResult(json.dumps(value, ensure_ascii=False, indent=4), structured=value)
        return to_tool_result(value)


def content_items_result(items: list[Any]) -> ToolResult:
    """A list of Qwen-Agent ``ContentItem``: the text parts for the model, images and files kept as
    attachments (and in the response list, as Qwen-Agent keeps them)."""
    texts: list[str] = []
    attachments: list[dict[str, Any]] = []
    for item in items:
        kind, value = item.get_type_and_value()
        if kind == "text":
            texts.append(value)
        else:
            attachments.append({"type": kind, kind: value})
    return ToolResult("\n".join(texts), attachments=attachments, structured=[i.model_dump() for i in items])
