"""Qwen3's native format: render prompts, parse output (whole or streaming). Knows nothing else."""

from typing import Any

from agentkit.qwen3.types import (
    ContentDelta,
    InvalidToolCall,
    ParsedOutput,
    ParseEvent,
    ReasoningDelta,
    ToolCall,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)

__all__ = [
    "render_prompt",
    "parse_output",
    "OutputParser",
    "ParsedOutput",
    "ToolCall",
    "InvalidToolCall",
    "ParseEvent",
    "ReasoningDelta",
    "ContentDelta",
    "ToolCallStarted",
    "ToolCallArgsDelta",
    "ToolCallComplete",
    "ToolCallInvalid",
]


def __getattr__(name: str) -> Any:  # the renderer and parser load on first use
    if name == "render_prompt":
        from agentkit.qwen3.template import render_prompt

        return render_prompt
    if name in ("parse_output", "OutputParser"):
        from agentkit.qwen3 import parser

        return getattr(parser, name)
    raise AttributeError(f"module 'agentkit.qwen3' has no attribute {name!r}")
