"""The live terminal view of a run on stderr: thinking, answer text, tool calls and results, tokens, timings.

On a terminal, a status line at the bottom (spinner, what the run waits for, elapsed time) keeps moving
while nothing else does, and a tool call is shown as the model writes it. Elsewhere (a file, a pipe)
the same lines are printed plainly, without the status line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from agentkit.agent.events import RunFinished, StepEnded, StepStarted, ToolFinished, ToolProgress, ToolRunning
from agentkit.llm.types import Retrying, StepFinished, StreamRestarted
from agentkit.qwen3.types import (
    ContentDelta,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)

SIMULATION_LABEL = "SIMULATION"


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(slots=True)
class _Call:
    """A tool call as the model writes it."""

    id: str
    name: str
    arguments: str = ""
    written: bool = False


class LiveView:
    """An ``on_event`` handler that prints a run as it happens.

    ``hold_answer``: keep the final answer off stderr (the caller prints it on stdout, the same
    terminal), so that it appears once. ``simulated`` labels step headers and the closing line.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        show_thinking: bool = True,
        hold_answer: bool = False,
        simulated: bool = False,
    ):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.show_thinking = show_thinking
        self.hold_answer = hold_answer
        self.simulated = simulated
        self._mode: str | None = None
        self._line = Text()  # the line being written (terminal), shown in the live area until complete
        self._answer = ""  # this step's answer text, held until we know whether it is the final answer
        self._calls: dict[int, _Call] = {}  # the calls of this step not yet printed for good
        self._running: dict[str, str] = {}  # call id -> name
        self._status: str | None = None
        self._since = time.perf_counter()
        self._step_started = self._since
        self._live: Live | None = None
        self._spinner = Spinner("dots", style="cyan")

    # The status line and live area (terminals only).

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def waiting(self, status: str | None) -> None:
        """Show ``status`` with a spinner and its elapsed time (None: nothing to wait for)."""
        if status != self._status:
            self._status, self._since = status, time.perf_counter()
        if self.live and status is not None and self._live is None:
            self._live = Live(
                console=self.console,
                get_renderable=self._render,
                transient=True,
                auto_refresh=False,  # refreshed by ``tick`` in the run's own thread: one writer, no torn frames
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start(refresh=True)

    def tick(self) -> None:
        """Redraw the status line (the spinner and the elapsed time move)."""
        if self._live is not None:
            self._live.refresh()

    async def keep_moving(self, interval: float = 0.1) -> None:
        """``tick`` every ``interval`` seconds until cancelled: run it beside the agent."""
        import anyio

        while True:
            await anyio.sleep(interval)
            self.tick()

    def close(self) -> None:
        """Remove the live area; whatever was only shown there is gone (the caller prints the answer)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No live area while the user is asked something on the terminal."""
        live = self._live
        if live is not None:
            live.stop()
            self._live = None
        try:
            yield
        finally:
            if live is not None:
                self.waiting(self._status)

    def pausing(self, ask: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``ask`` (an async question for the user) with the live area paused while it runs."""

        async def asked(*args: Any, **kwargs: Any) -> Any:
            with self.paused():
                return await ask(*args, **kwargs)

        return asked

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = []
        width = max(20, self.console.size.width - 1)
        if self._answer:
            lines = self._answer.splitlines() or [""]
            keep = max(3, self.console.size.height - 4 - len(self._calls))
            parts.append(Text("\n".join(line[:width] for line in lines[-keep:])))
        elif self._line:
            parts.append(self._line.copy())
        for call in list(self._calls.values()):
            shown = " ".join(call.arguments.split()) + (")" if call.written else "")
            room = width - len(call.name) - 4
            if len(shown) > room:
                shown = "…" + shown[-(room - 1) :]
            parts.append(Text(f"→ {call.name}({shown}", style="blue"))
        if self._status:
            elapsed = time.perf_counter() - self._since
            self._spinner.update(text=Text(f"{self._status} · {elapsed:.1f}s", style="cyan"))
            parts.append(self._spinner)
        return Group(*parts)

    # Printing.

    def _print(self, renderable: Any = "", **kwargs: Any) -> None:
        self.console.print(renderable, **kwargs)

    def _flush_line(self) -> None:
        if self._line:
            line, self._line = self._line, Text()
            self._print(line)

    def _switch(self, mode: str | None) -> None:
        if self._mode != mode and self._mode is not None:
            if self.live:
                self._flush_line()
            else:
                self._print()
        self._mode = mode

    def _stream(self, text: str, style: str, prefix: Text | None = None) -> None:
        """Streamed text: printed as it comes (plain), or line by line with the partial line live."""
        if not self.live:
            if prefix is not None:
                self._print(prefix, end="")
            self._print(Text(text, style=style), end="")
            return
        line = self._line.copy()
        if prefix is not None:
            line.append_text(prefix)
        width = max(20, self.console.size.width - 1)
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            line.append(piece, style=style)
            while len(line) > width:  # a long line: commit what fills the terminal, at a space
                cut = line.plain.rfind(" ", 0, width + 1)
                cut = cut + 1 if cut > 0 else width
                head, line = line.divide([cut])
                self._line = line.copy()
                head.rstrip()
                self._print(head)
            if i < len(pieces) - 1:
                self._line = Text()
                self._print(line)
                line = Text()
        self._line = line

    def notice(self, line: str) -> None:
        self._switch(None)
        self._print(Text(line, style="bold yellow"))

    def details(self, text: str) -> None:
        self._switch(None)
        self._print(Text(text.rstrip(), style="yellow"))

    def _label(self, text: str) -> str:
        return f"{text} · {SIMULATION_LABEL}" if self.simulated else text

    def __call__(self, event: Any) -> None:
        c = self.console
        if isinstance(event, ReasoningDelta):
            self.waiting("thinking")
            if self.show_thinking:
                prefix = None
                if self._mode != "think":
                    self._switch("think")
                    prefix = Text("thinking: ", style="magenta")
                self._stream(event.text, "dim italic", prefix)
        elif isinstance(event, ContentDelta):
            self.waiting("writing")
            if self._mode != "content":
                self._switch("content")
            if self.live:
                self._answer += event.text
            else:
                self._print(Text(event.text), end="")
        elif isinstance(event, ToolCallStarted):
            self._switch(None)
            self._commit_answer()
            self._calls[event.index] = _Call(event.id, event.name)
            self.waiting(f"writing a call to {event.name}")
        elif isinstance(event, ToolCallArgsDelta):
            if event.index in self._calls:
                self._calls[event.index].arguments += event.text
        elif isinstance(event, ToolCallComplete):  # shown until it runs (or is refused)
            call = self._calls.get(event.call.index)
            if call is not None:
                call.id, call.written = event.call.id, True
        elif isinstance(event, StepFinished):  # the model's turn is over: a call still open never will be
            self._calls = {i: call for i, call in self._calls.items() if call.written}
        elif isinstance(event, StepStarted):
            self._switch(None)
            self._step_started = time.perf_counter()
            mode = "thinking on" if event.thinking else "thinking off"
            c.rule(Text(self._label(f"step {event.step + 1} · {mode}"), style="cyan"), style="cyan")
            self.waiting("waiting for the model")
        elif isinstance(event, ToolCallInvalid):
            self._switch(None)
            self._calls.pop(event.call.index, None)
            c.print(Text(f"✗ malformed tool call: {event.call.error}", style="red"))
        elif isinstance(event, ToolRunning):
            self._switch(None)
            self._commit_answer()
            self._forget_call(event.call_id, event.name)
            self._running[event.call_id] = event.name
            c.print(Text(f"→ {event.name}({_short(event.arguments, 200)})", style="bold blue"))
            self.waiting(f"running {', '.join(dict.fromkeys(self._running.values()))}")
        elif isinstance(event, ToolProgress):
            total = f"/{event.total:g}" if event.total else ""
            c.print(Text(f"  … {event.name} {event.progress:g}{total} {event.message or ''}", style="blue"))
        elif isinstance(event, ToolFinished):
            self._forget_call(event.call_id, event.name)
            self._running.pop(event.call_id, None)
            style = "red" if event.result.is_error else "green"
            mark = "✗" if event.result.is_error else "←"
            c.print(
                Text(
                    f"{mark} {event.name} ({event.duration_s:.2f}s): {_short(event.result.text)}", style=style
                )
            )
            running = ", ".join(dict.fromkeys(self._running.values()))
            self.waiting(f"running {running}" if running else "waiting for the model")
        elif isinstance(event, Retrying):
            self._switch(None)
            c.print(Text(f"retry {event.attempt} in {event.delay:.1f}s: {event.reason}", style="yellow"))
            self.waiting(f"retry {event.attempt}: waiting for the model")
        elif isinstance(event, StreamRestarted):
            self._switch(None)
            self._answer, self._calls = "", {}
            c.print(Text(f"[stream broke, restarting this step: {event.reason}]", style="yellow"))
        elif isinstance(event, StepEnded):
            self._switch(None)
            self._calls.clear()
            if event.record.tool_calls or not self.hold_answer:
                self._commit_answer()
            self._step_usage(event)
            self.waiting(None)
        elif isinstance(event, RunFinished):
            self._switch(None)
            r = event.result
            if self._answer and not r.output:  # the run failed after some text: keep what it said
                self._commit_answer()
            self._answer = ""
            self.waiting(None)
            self.close()
            style = "green" if r.status == "completed" else "red"
            u = r.usage
            steps = f"{len(r.steps)} step" + ("" if len(r.steps) == 1 else "s")
            closing = f"{r.status} · {steps} · {u['total_tokens']} tokens · {r.duration_s:.2f}s"
            if self.simulated:
                closing += f" · {SIMULATION_LABEL}, no model ran"
            c.rule(Text(closing, style=style), style=style)
            if r.error:
                c.print(Text(f"error: {r.error}", style="red"))

    def _forget_call(self, call_id: str, name: str) -> None:
        """The streamed call that is now printed for good: the one with this id, else this name."""
        index = next((i for i, c in self._calls.items() if c.id == call_id), None)
        if index is None:
            index = next((i for i, c in self._calls.items() if c.name == name), None)
        if index is not None:
            self._calls = {i: c for i, c in self._calls.items() if i != index}

    def _commit_answer(self) -> None:
        """The answer text so far, printed for good (it was not the final answer, or it stays on stderr)."""
        if self._answer:
            answer, self._answer = self._answer, ""
            self._print(Text(answer))

    def _step_usage(self, event: StepEnded) -> None:
        u = event.record.usage
        extra = ""
        if u.get("reprefill_tokens") is not None:
            extra = f", cache reuse {u.get('cached_prefix_tokens')} tok, re-prefill +{u.get('reprefill_extra_tokens')}"
        self._print(
            Text(
                f"  [{u.get('prompt_tokens', 0)} prompt + {u.get('completion_tokens', 0)} output tokens{extra}, "
                f"{event.record.duration_s:.2f}s, {event.record.finish_reason}]",
                style="dim",
            )
        )
