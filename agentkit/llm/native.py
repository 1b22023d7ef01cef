"""Native mode: agentkit renders the Qwen3 prompt itself, calls ``/v1/completions`` and parses the raw output."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

from agentkit.llm.backend import HTTPBackend
from agentkit.llm.errors import ContextOverflow, LLMError
from agentkit.llm.http import Endpoint, RetryableError, backoff_delay
from agentkit.llm.prefix import measure_reuse
from agentkit.llm.types import (
    ModelEvent,
    ModelRequest,
    StepFinished,
    StepOutput,
    Usage,
    turn_finish_reason,
)
from agentkit.qwen3.parser import OutputParser
from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.tokens import count_tokens

EARLY_STOP = (
    "\n\nConsidering the limited time by the user, I have to give the solution based on the thinking "
    "directly now.\n</think>\n\n"
)
STOP = ["<|im_end|>", "<|endoftext|>"]


def _object_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _coder_safe(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Qwen3-Coder's template can only render object arguments: a malformed call the model made (kept in
    history with its error result) is re-rendered without parameters."""

    def fix(call: dict[str, Any]) -> dict[str, Any]:
        args = call["function"]["arguments"]
        if isinstance(args, str) and not _object_json(args):
            return {**call, "function": {**call["function"], "arguments": "{}"}}
        return call

    return [
        {**m, "tool_calls": [fix(c) for c in m["tool_calls"]]} if m.get("tool_calls") else m for m in messages
    ]


class _Turn:
    """One native turn being generated: its parser, the text so far (in pieces), finish and usage."""

    __slots__ = ("parser", "usage", "parts", "finish", "base_tokens")

    def __init__(self, parser: OutputParser, usage: Usage) -> None:
        self.parser, self.usage = parser, usage
        self.parts: list[str] = []
        self.finish = "stop"
        self.base_tokens = 0  # output tokens of the phases before this one (thinking budget)

    def text(self) -> str:
        return "".join(self.parts)


class NativeBackend(HTTPBackend):
    """Raw completions: the prompt is byte-identical to the official template, the parse is ours."""

    mode = "native"

    chat_template: str | None = None
    """The model's own template, used instead of ours when they disagree (see ``template_if_ours_differs``)."""

    def render(self, request: ModelRequest, thinking: bool) -> str:
        messages = _coder_safe(request.messages) if self.variant == "coder" else request.messages
        if self.chat_template is not None:
            from agentkit.qwen3.model_template import render_with_template

            return render_with_template(
                self.chat_template, messages, request.tools or None, enable_thinking=thinking
            )
        return render_prompt(messages, request.tools or None, enable_thinking=thinking, variant=self.variant)

    async def _attempt(self, request: ModelRequest, endpoint: Endpoint) -> AsyncIterator[ModelEvent]:
        started = time.perf_counter()
        thinking = self.effective_thinking(request.thinking)
        prompt = self.render(request, thinking)
        prompt_tokens = await self.count_prompt(prompt, endpoint)
        self.check_context(prompt_tokens, request.max_tokens)
        parser = OutputParser(tools=request.tools or None, tool_format=self.tool_format, thinking=thinking)
        budget = request.thinking_budget if thinking else None
        # What the turn may generate. Sent as max_tokens only when the request caps it: left out, the server
        # allows exactly the rest of its context window, which our approximate token count may overstate.
        room = self.max_model_len - prompt_tokens if self.max_model_len else None
        remaining = request.max_tokens if room is None else min(request.max_tokens or room, room)
        usage = Usage(prompt_tokens=prompt_tokens)
        first_cap = min(budget, remaining) if budget is not None and remaining else (budget or remaining)
        if budget is None and request.max_tokens is None:
            first_cap = None
        turn = _Turn(parser, usage)
        async for event in self._generate(endpoint, prompt, request, first_cap, turn):
            yield event
        if budget is not None and turn.finish == "length" and (remaining is None or budget < remaining):
            # Qwen's thinking-budget recipe: close the reasoning, then continue the same turn.
            if "</think>" not in turn.text():
                turn.parts.append(EARLY_STOP)
                for event in parser.feed(EARLY_STOP):
                    yield event
            spent = usage.completion_tokens or count_tokens(turn.text())
            rest = None if request.max_tokens is None else max(remaining - spent, 1)
            turn.base_tokens = usage.completion_tokens
            async for event in self._generate(endpoint, prompt + turn.text(), request, rest, turn):
                yield event
        text, finish = turn.text(), turn.finish
        for event in parser.close():
            yield event
        if not usage.completion_tokens:
            usage.completion_tokens = count_tokens(text)
        if request.previous is not None and request.previous.prompt is not None:
            measure_reuse(request.previous.prompt, request.previous.raw_text or "", prompt, usage)
        self.trace(
            "native.step",
            {
                "prompt": prompt,
                "output": text,
                "finish_reason": finish,
                "duration_s": time.perf_counter() - started,
            },
        )
        parsed = parser.result()
        yield StepFinished(
            StepOutput(
                parsed=parsed,
                finish_reason=turn_finish_reason(finish, parsed),
                usage=usage,
                thinking=thinking,
                prompt=prompt,
                raw_text=text,
            )
        )

    async def _generate(
        self, endpoint: Endpoint, prompt: str, request: ModelRequest, max_tokens: int | None, turn: _Turn
    ) -> AsyncIterator[ModelEvent]:
        """Stream a completion of ``prompt`` into ``turn``'s parser. A stream cut after some output
        continues the same turn: the prompt plus the text received goes out again and generation picks
        up where it stopped (nothing is generated twice; ``usage.continued_tokens`` records what each
        cut saved). A cut before any output raises, for the step to be retried."""
        parser, usage, parts = turn.parser, turn.usage, turn.parts
        first = len(parts)  # this phase's output starts here
        attempt = 0
        while True:
            got = "".join(parts[first:])
            kept = count_tokens(got) if got else 0
            cap = None if max_tokens is None else max(max_tokens - kept, 1)
            body = self._body(prompt + got, request, cap)
            self.trace("request", {"path": "/completions", "body": body})
            tracing = self.tracer is not None
            try:
                async for chunk in endpoint.stream_events("/completions", body):
                    if tracing:
                        self.trace("chunk", chunk)
                    choices = chunk.get("choices")
                    if choices:
                        choice = choices[0]
                        piece = choice.get("text")
                        if piece:
                            parts.append(piece)
                            for event in parser.feed(piece):
                                yield event
                        if choice.get("finish_reason"):
                            turn.finish = choice["finish_reason"]
                    counts = chunk.get("usage")
                    if counts:
                        if not kept and not turn.base_tokens:  # a continuation's prompt holds the turn so far
                            usage.prompt_tokens = counts.get("prompt_tokens", usage.prompt_tokens)
                        usage.completion_tokens = turn.base_tokens + kept + counts.get("completion_tokens", 0)
                return
            except RetryableError as exc:
                if len(parts) == first:
                    raise
                saved = count_tokens("".join(parts[first:]))
                attempt, notice = self._continuing(attempt, exc, saved)
                usage.continued_tokens.append(saved)
                yield notice
                await anyio.sleep(backoff_delay(attempt, retry_after=exc.retry_after))
            except ContextOverflow:
                raise
            except LLMError as exc:
                message = str(exc)
                if "maximum context length" in message or "max_model_len" in message:
                    raise ContextOverflow(
                        f"{self.model} rejected the prompt as too long: {message}. Shorten the conversation or "
                        "tool outputs, or serve the model with a larger --max-model-len."
                    ) from exc
                raise

    def _body(self, prompt: str, request: ModelRequest, max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "stream": True,
            "stream_options": {"include_usage": True},
            "skip_special_tokens": False,
            "stop": STOP,
            **request.sampling,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body
