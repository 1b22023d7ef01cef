"""Data types of parsed Qwen3 output and the events an incremental parse emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ToolCall:
    """A well-formed tool call the model made.

    ``raw_arguments`` keeps the arguments text as the model wrote it (JSON for hermes, the
    re-serialised JSON for XML calls) so history can be re-rendered the way it was generated.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    index: int = 0

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tool_calls`` entry for this call."""
        import json

        args = self.raw_arguments or json.dumps(self.arguments, ensure_ascii=False)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": args}}


@dataclass(slots=True)
class InvalidToolCall:
    """A tool call that could not be executed, with the reason fed back to the model."""

    id: str
    raw: str
    error: str
    name: str | None = None
    index: int = 0

    def to_openai(self) -> dict[str, Any]:
        """An OpenAI ``tool_calls`` entry that re-renders the call as the model wrote it."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name or "", "arguments": self.raw},
        }


@dataclass(slots=True)
class ParsedOutput:
    """The result of parsing one assistant turn."""

    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)
    reasoning_truncated: bool = False
    """Thinking was on and ``</think>`` never came: the reasoning was cut off."""
    tool_call_truncated: bool = False
    """The output ended inside a tool call that could not be completed."""

    def all_calls(self) -> list[ToolCall | InvalidToolCall]:
        """Valid and invalid calls together, in the order the model made them."""
        return sorted([*self.tool_calls, *self.invalid_tool_calls], key=lambda c: c.index)


@dataclass(slots=True)
class ReasoningDelta:
    """More reasoning text. (Not frozen, unlike the other events: one is made per streamed chunk, and a
    frozen dataclass costs twice as much to make; treat it as read-only all the same.)"""

    text: str


@dataclass(slots=True)
class ContentDelta:
    """More answer text (read-only, see ``ReasoningDelta``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    index: int
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallArgsDelta:
    """More of a call's arguments text: for hermes calls the raw ``arguments`` value as the model
    writes it (for a valid call as written, the deltas concatenate to ``raw_arguments``); for XML
    calls one delta with the JSON at the end."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallComplete:
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ToolCallInvalid:
    call: InvalidToolCall


ParseEvent = (
    ReasoningDelta | ContentDelta | ToolCallStarted | ToolCallArgsDelta | ToolCallComplete | ToolCallInvalid
)
