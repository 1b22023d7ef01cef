"""The live terminal view of a run on stderr: thinking, answer text, tool calls and results, tokens, timings."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from agentkit.agent.events import (
    ContextCompacted,
    RunFinished,
    StepEnded,
    StepStarted,
    ToolFinished,
    ToolProgress,
    ToolRunning,
)
from agentkit.llm.types import Retrying, StreamContinued, StreamRestarted
from agentkit.qwen3.types import ContentDelta, ReasoningDelta, ToolCallInvalid


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveView:
    """An ``on_event`` handler that prints a run as it happens."""

    def __init__(self, console: Console | None = None, *, show_thinking: bool = True):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.show_thinking = show_thinking
        self._mode: str | None = None

    def _switch(self, mode: str | None) -> None:
        if self._mode != mode and self._mode is not None:
            self.console.print()
        self._mode = mode

    def notice(self, line: str) -> None:
        self._switch(None)
        self.console.print(Text(line, style="bold yellow"))

    def __call__(self, event: Any) -> None:
        c = self.console
        if isinstance(event, ReasoningDelta):
            if self.show_thinking:
                if self._mode != "think":
                    self._switch("think")
                    c.print(Text("thinking: ", style="magenta"), end="")
                c.print(Text(event.text, style="dim italic"), end="")
        elif isinstance(event, ContentDelta):
            if self._mode != "content":
                self._switch("content")
            c.print(Text(event.text), end="")
        elif isinstance(event, StepStarted):
            self._switch(None)
            mode = "thinking on" if event.thinking else "thinking off"
            c.rule(Text(f"step {event.step + 1} · {mode}", style="cyan"), style="cyan")
        elif isinstance(event, ToolCallInvalid):
            self._switch(None)
            c.print(Text(f"✗ malformed tool call: {event.call.error}", style="red"))
        elif isinstance(event, ToolRunning):
            self._switch(None)
            c.print(Text(f"→ {event.name}({_short(event.arguments, 200)})", style="bold blue"))
        elif isinstance(event, ToolProgress):
            total = f"/{event.total:g}" if event.total else ""
            c.print(Text(f"  … {event.name} {event.progress:g}{total} {event.message or ''}", style="blue"))
        elif isinstance(event, ToolFinished):
            style = "red" if event.result.is_error else "green"
            mark = "✗" if event.result.is_error else "←"
            c.print(
                Text(
                    f"{mark} {event.name} ({event.duration_s:.2f}s): {_short(event.result.text)}", style=style
                )
            )
        elif isinstance(event, Retrying):
            self._switch(None)
            c.print(Text(f"retry {event.attempt} in {event.delay:.1f}s: {event.reason}", style="yellow"))
        elif isinstance(event, StreamContinued):
            self._switch(None)
            c.print(
                Text(
                    f"[stream broke, continuing the turn ({event.saved_tokens} tokens kept): {event.reason}]",
                    style="yellow",
                )
            )
        elif isinstance(event, StreamRestarted):
            self._switch(None)
            c.print(Text(f"[stream broke, restarting this step: {event.reason}]", style="yellow"))
        elif isinstance(event, ContextCompacted):
            self._switch(None)
            k = event.compaction
            c.print(
                Text(
                    f"[context: {k.tokens_before} → {k.tokens_after} tokens (budget {k.budget}): "
                    f"{k.elided_results} tool results elided, {k.summarized_messages} messages summarised]",
                    style="dim yellow",
                )
            )
        elif isinstance(event, StepEnded):
            self._switch(None)
            u = event.record.usage
            extra = ""
            if u.get("reprefill_tokens") is not None:
                extra = f", cache reuse {u.get('cached_prefix_tokens')} tok, re-prefill +{u.get('reprefill_extra_tokens')}"
            c.print(
                Text(
                    f"  [{u.get('prompt_tokens', 0)} prompt + {u.get('completion_tokens', 0)} output tokens{extra}, "
                    f"{event.record.duration_s:.2f}s, {event.record.finish_reason}]",
                    style="dim",
                )
            )
        elif isinstance(event, RunFinished):
            self._switch(None)
            r = event.result
            style = "green" if r.status == "completed" else "red"
            u = r.usage
            c.rule(
                Text(
                    f"{r.status} · {len(r.steps)} steps · {u['total_tokens']} tokens · {r.duration_s:.2f}s",
                    style=style,
                ),
                style=style,
            )
            if r.error:
                c.print(Text(f"error: {r.error}", style="red"))
