"""Qwen3's native format: render prompts, parse output (whole or streaming). Knows nothing else."""

from agentkit.qwen3.parser import OutputParser, parse_output
from agentkit.qwen3.template import render_prompt
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
