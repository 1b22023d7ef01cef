"""``function_list`` entries as agentkit tools, resolved the way a Qwen-Agent app expects.

A name (or a ``{'name': ...}`` config) is agentkit's built-in tool of that name first, then a tool of
Qwen-Agent's ``TOOL_REGISTRY`` (``@register_tool`` classes, Qwen-Agent's own tools) when qwen-agent is
importable, instantiated with the config as Qwen-Agent does; otherwise a clear error listing both.
"""

from __future__ import annotations

from typing import Any

from agentkit.qwen_agent_compat.qwen_tools import QwenAgentTool, is_qwen_agent_tool


def qwen_registry() -> dict[str, Any]:
    """Qwen-Agent's ``TOOL_REGISTRY``, or ``{}`` when qwen-agent is not importable."""
    try:
        from qwen_agent.tools import TOOL_REGISTRY
    except ImportError:
        return {}
    return TOOL_REGISTRY


def _builtin_names() -> list[str]:
    import agentkit_tools as builtin_tools

    return list(builtin_tools.BUILTIN_TOOLS)


def _registered(name: str, cfg: dict[str, Any] | None) -> QwenAgentTool | None:
    cls = qwen_registry().get(name)
    return None if cls is None else QwenAgentTool(cls(cfg))


def split_function_list(items: list[Any]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """Built-in specs (resolved by the task loader), tool objects, and MCP server configs."""
    from agentkit.tooling.base import Tool
    from agentkit.tooling.decorator import FunctionTool

    builtins = _builtin_names()
    specs: list[Any] = []
    objects: list[Any] = []
    servers: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and "mcpServers" in item:
            servers.update(item["mcpServers"])
        elif isinstance(item, (str, dict)):
            name = item if isinstance(item, str) else item.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"function_list entry {item!r} has no tool 'name'")
            if name in builtins:
                specs.append(item)
                continue
            tool = _registered(name, None if isinstance(item, str) else dict(item))
            if tool is None:
                import difflib

                registered = sorted(qwen_registry())
                close = difflib.get_close_matches(name, [*builtins, *registered], n=1, cutoff=0.6)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                known = f"agentkit built-ins: {', '.join(builtins)}"
                known += (
                    f"; registered with Qwen-Agent's @register_tool: {', '.join(registered)}"
                    if registered
                    else "; qwen-agent is not installed, so @register_tool tools are not available "
                    "(pip install 'agentkit[qwen-agent]')"
                )
                raise ValueError(
                    f"unknown tool {name!r} in function_list{hint} ({known}); or pass the tool object or "
                    "a Python function itself"
                )
            objects.append(tool)
        elif is_qwen_agent_tool(item):
            objects.append(QwenAgentTool(item))
        elif isinstance(item, Tool):
            objects.append(item)
        elif callable(item):
            objects.append(FunctionTool(item))
        else:
            raise TypeError(
                f"function_list entry {item!r} is not a tool name, a config dict, a tool or a function"
            )
    return specs, objects, servers
