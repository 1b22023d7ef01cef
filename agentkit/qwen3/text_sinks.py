"""Where reasoning and content text go while streaming: whitespace rules applied as deltas.

Each sink holds back only the whitespace whose fate depends on what comes next, so the deltas it
emits always concatenate to exactly its final text, whatever the chunking.
"""

from __future__ import annotations

from agentkit.qwen3.types import ContentDelta, ParseEvent, ReasoningDelta


class ReasoningSink:
    """Reasoning text: leading and trailing newlines dropped (as the chat template strips them)."""

    def __init__(self, events: list[ParseEvent]) -> None:
        self._events = events
        self._parts: list[str] = []
        self._held = ""
        self._started = False

    def write(self, text: str) -> None:
        if not self._started:
            text = text.lstrip("\n")
            if not text:
                return
            self._started = True
        body = text.rstrip("\n")
        if body:
            self._emit(self._held + body)
            self._held = text[len(body) :]
        else:
            self._held += text

    def end(self) -> None:
        """No more reasoning: held trailing newlines are dropped."""
        self._held = ""

    @property
    def text(self) -> str | None:
        return "".join(self._parts) or None

    def _emit(self, text: str) -> None:
        self._parts.append(text)
        self._events.append(ReasoningDelta(text))


class ContentSink:
    """Content text split into segments by tool calls.

    The segment before the first call keeps its text verbatim except one trailing newline (the
    template writes that newline itself before a call); segments after a call are trimmed and joined
    with a newline. Whitespace-only segments vanish. ``skip_leading_newlines`` drops the newlines the
    model writes after ``</think>``.
    """

    def __init__(self, events: list[ParseEvent], *, skip_leading_newlines: bool) -> None:
        self._events = events
        self._parts: list[str] = []
        self._held = ""
        self._skip_newlines = skip_leading_newlines
        self._after_call = False
        self._has_text = False

    def write(self, text: str) -> None:
        if not text:
            return
        if self._skip_newlines:
            text = text.lstrip("\n")
            if not text:
                return
            self._skip_newlines = False
        if self._after_call:
            self._write_later(text)
        else:
            self._write_first(text)

    def _write_first(self, text: str) -> None:
        combined = self._held + text
        if not self._has_text:
            if combined.isspace():
                self._held = combined
                return
            self._has_text = True
        if combined.endswith("\n"):
            self._emit(combined[:-1])
            self._held = "\n"
        else:
            self._emit(combined)
            self._held = ""

    def _write_later(self, text: str) -> None:
        if not self._has_text:
            text = text.lstrip()
            if not text:
                return
            self._has_text = True
            if self._parts:
                self._held = "\n"
        combined = self._held + text
        body = combined.rstrip()
        if body:
            self._emit(body)
            self._held = combined[len(body) :]
        else:
            self._held = combined

    def call_boundary(self) -> None:
        """A tool call starts here: whitespace held before it is dropped."""
        self._skip_newlines = False
        self._held = ""
        self._after_call = True
        self._has_text = False

    def end(self) -> None:
        """End of output: a newline held at the end of call-free content is kept."""
        if not self._after_call and self._has_text and self._held:
            self._emit(self._held)
        self._held = ""

    @property
    def text(self) -> str | None:
        return "".join(self._parts) or None

    def _emit(self, text: str) -> None:
        if text:
            self._parts.append(text)
            self._events.append(ContentDelta(text))
