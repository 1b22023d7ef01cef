"""Shared checks for the parser tests: every parse is also streamed under many chunkings."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from agentkit.qwen3.parser import OutputParser, parse_output
from agentkit.qwen3.types import (
    ContentDelta,
    ParsedOutput,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallStarted,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
SHELL = {
    "type": "function",
    "function": {
        "name": "run_shell",
        "description": "Run a shell command",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}, "sudo": {"type": "boolean"}},
            "required": ["command"],
        },
    },
}
TOOLS = [WEATHER, SHELL]


def ids(index: int) -> str:
    return f"call_{index}"


def stream(text: str, cuts: list[int], **kw: Any) -> tuple[ParsedOutput, list[Any], list[Any]]:
    """Feed ``text`` split at ``cuts``; return (result, events from feed, events from close)."""
    parser = OutputParser(id_factory=ids, **kw)
    fed: list[Any] = []
    last = 0
    for cut in [*cuts, len(text)]:
        fed += parser.feed(text[last:cut])
        last = cut
    closing = parser.close()
    return parser.result(), fed, closing


def check_events(result: ParsedOutput, fed: list[Any], closing: list[Any]) -> None:
    """Deltas rebuild the result exactly (so no tag or part of one leaks); each call starts once."""
    events = fed + closing
    content = "".join(e.text for e in events if isinstance(e, ContentDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert (content or None) == result.content
    assert (reasoning or None) == result.reasoning_content
    assert all(e.text for e in events if isinstance(e, (ContentDelta, ReasoningDelta))), "empty delta"
    started = [e.index for e in events if isinstance(e, ToolCallStarted)]
    assert len(started) == len(set(started)), "a call started twice"
    for call in result.tool_calls:
        assert call.index in started, f"call {call.index} completed without ToolCallStarted"


def call_events(events: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """Non-delta events in order, and the concatenated argument deltas per call index."""
    args: dict[int, str] = defaultdict(str)
    others = []
    for e in events:
        if isinstance(e, ToolCallArgsDelta):
            args[e.index] += e.text
        elif not isinstance(e, (ContentDelta, ReasoningDelta)):
            others.append(e)
    return others, dict(args)


def parse_both(text: str, *, random_runs: int = 0, **kw: Any) -> ParsedOutput:
    """``parse_output(text)``, after checking that streaming gives the same result and consistent
    events for every split point, 1-character chunks and ``random_runs`` random chunkings."""
    whole = parse_output(text, id_factory=ids, **kw)
    ref = None
    chunkings: list[list[int]] = [[k] for k in range(len(text) + 1)] + [list(range(1, len(text)))]
    rng = random.Random(len(text))
    for _ in range(random_runs):
        cuts, pos = [], 0
        while pos < len(text):
            pos += rng.randint(1, 24)
            cuts.append(min(pos, len(text)))
        chunkings.append(cuts)
    for cuts in chunkings:
        result, fed, closing = stream(text, cuts, **kw)
        assert result == whole, f"chunking at {cuts[:20]} differs"
        check_events(result, fed, closing)
        calls = call_events(fed + closing)
        if ref is None:
            ref = calls
        assert calls == ref, f"call events differ for chunking at {cuts[:20]}"
    return whole
