"""Tools behind one interface: the protocol, the ``@tool`` decorator and the tool set the loop uses."""

from agentkit.tooling.base import Tool, ToolContext, ToolProvider, ToolResult, openai_schema
from agentkit.tooling.decorator import FunctionTool, tool
from agentkit.tooling.policy import ToolPolicy
from agentkit.tooling.toolset import ToolSet

__all__ = [
    "Tool",
    "ToolContext",
    "ToolProvider",
    "ToolResult",
    "openai_schema",
    "FunctionTool",
    "tool",
    "ToolSet",
    "ToolPolicy",
]
