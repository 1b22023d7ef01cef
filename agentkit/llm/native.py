"""Native mode: agentkit renders the Qwen3 prompt itself, calls ``/v1/completions`` and parses the raw output."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

from agentkit.llm.backend import HTTPBackend
from agentkit.llm.errors import ContextOverflow
from agentkit.llm.http import Endpoint, RetryableError, backoff_delay
from agentkit.llm.prefix import measure_reuse
from agentkit.llm.types import (
    ModelEvent,
    ModelRequest,
    StepFinished,
    StepOutput,
    StreamContinued,
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
        text = ""
        finish = "stop"
        first_cap = min(budget, remaining) if budget is not None and remaining else (budget or remaining)
        if budget is None and request.max_tokens is None:
            first_cap = None
        async for piece, finish, chunk_usage in self._resuming(endpoint, prompt, request, first_cap, usage):  # noqa: B007 - the last finish counts
            if isinstance(piece, StreamContinued):
                yield piece
                continue
            text += piece
            for event in parser.feed(piece):
                yield event
            if chunk_usage:
                usage.prompt_tokens = chunk_usage.get("prompt_tokens", usage.prompt_tokens)
                usage.completion_tokens = chunk_usage.get("completion_tokens", usage.completion_tokens)
        if budget is not None and finish == "length" and (remaining is None or budget < remaining):
            # Qwen's thinking-budget recipe: close the reasoning, then continue the same turn.
            if "</think>" not in text:
                text += EARLY_STOP
                for event in parser.feed(EARLY_STOP):
                    yield event
            spent = usage.completion_tokens or count_tokens(text)
            rest = None if request.max_tokens is None else max(remaining - spent, 1)
            first_completion = usage.completion_tokens
            async for piece, finish, chunk_usage in self._resuming(  # noqa: B007 - the last finish counts
                endpoint, prompt + text, request, rest, usage
            ):
                if isinstance(piece, StreamContinued):
                    yield piece
                    continue
                text += piece
                for event in parser.feed(piece):
                    yield event
                if chunk_usage:
                    usage.completion_tokens = first_completion + chunk_usage.get("completion_tokens", 0)
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

    async def _resuming(
        self, endpoint: Endpoint, prompt: str, request: ModelRequest, max_tokens: int | None, usage: Usage
    ) -> AsyncIterator[tuple[str | StreamContinued, str, dict[str, Any] | None]]:
        """``_complete``, where a stream cut after some output continues the same turn: the prompt plus the
        text received goes out again and generation picks up where it stopped (nothing is generated
        twice; ``usage.continued_tokens`` records what each cut saved). A cut before any output raises,
        for the step to be retried."""
        got = ""
        attempt = 0
        while True:
            kept = count_tokens(got) if got else 0
            cap = None if max_tokens is None else max(max_tokens - kept, 1)
            try:
                async for piece, finish, chunk_usage in self._complete(endpoint, prompt + got, request, cap):
                    got += piece
                    if chunk_usage and kept:  # counts of the continuation: the turn's own prompt stays
                        chunk_usage = {"completion_tokens": kept + chunk_usage.get("completion_tokens", 0)}
                    yield piece, finish, chunk_usage
                return
            except RetryableError as exc:
                if not got:
                    raise
                saved = count_tokens(got)
                attempt, notice = self._continuing(attempt, exc, saved)
                usage.continued_tokens.append(saved)
                yield notice, "", None
                await anyio.sleep(backoff_delay(attempt, retry_after=exc.retry_after))

    async def _complete(
        self, endpoint: Endpoint, prompt: str, request: ModelRequest, max_tokens: int | None
    ) -> AsyncIterator[tuple[str, str, dict[str, Any] | None]]:
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
        self.trace("request", {"path": "/completions", "body": body})
        finish = "stop"
        try:
            async for chunk in endpoint.stream_events("/completions", body):
                self.trace("chunk", chunk)
                choices = chunk.get("choices") or []
                piece = (choices[0].get("text") or "") if choices else ""
                if choices and choices[0].get("finish_reason"):
                    finish = choices[0]["finish_reason"]
                yield piece, finish, chunk.get("usage")
        except ContextOverflow:
            raise
        except Exception as exc:
            message = str(exc)
            if "maximum context length" in message or "max_model_len" in message:
                raise ContextOverflow(
                    f"{self.model} rejected the prompt as too long: {message}. Shorten the conversation or tool "
                    "outputs, or serve the model with a larger --max-model-len."
                ) from exc
            raise
