"""Chat output for requests without ``tools``: vLLM runs no tool parser then, so calls stay in the content.

Only the reasoning parser applies (as ``--reasoning-parser qwen3`` does): the think block becomes the
reasoning field and everything after ``</think>`` is content, verbatim (``<tool_call>`` markup included),
which is what prompt-based clients such as Qwen-Agent parse themselves.
"""

from __future__ import annotations

from agentkit.qwen3.parser import OutputParser
from agentkit.qwen3.types import ContentDelta, ParseEvent, ReasoningDelta

THINK_END = "</think>"


class PlainTextParser:
    """``feed``/``close`` like :class:`OutputParser`, yielding only reasoning and raw content deltas."""

    def __init__(self, thinking: bool) -> None:
        self._reasoning = OutputParser(thinking=True) if thinking else None
        self._seen = ""  # raw text fed while the think block is open
        self._leading = True  # newlines right after </think> (or at the start) are not content

    def _content(self, text: str) -> list[ParseEvent]:
        if self._leading:
            text = text.lstrip("\n")
            self._leading = not text
        return [ContentDelta(text)] if text else []

    def feed(self, delta: str) -> list[ParseEvent]:
        if self._reasoning is None:
            return self._content(delta)
        start = len(self._seen)
        self._seen += delta
        end = self._seen.find(THINK_END)
        if end < 0:
            return _reasoning_only(self._reasoning.feed(delta))
        cut = end + len(THINK_END)
        events = _reasoning_only(self._reasoning.feed(self._seen[start:cut]) + self._reasoning.close())
        self._reasoning = None
        return events + self._content(self._seen[cut:])

    def close(self) -> list[ParseEvent]:
        if self._reasoning is None:
            return []
        events, self._reasoning = self._reasoning.close(), None
        return [e for e in events if isinstance(e, (ReasoningDelta, ContentDelta))]


def _reasoning_only(events: list[ParseEvent]) -> list[ParseEvent]:
    return [e for e in events if isinstance(e, ReasoningDelta)]


def parse_plain(text: str, thinking: bool) -> tuple[str, str]:
    """The reasoning and the verbatim content of one complete output."""
    parser = PlainTextParser(thinking)
    events = parser.feed(text) + parser.close()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    content = "".join(e.text for e in events if isinstance(e, ContentDelta))
    return reasoning, content
