"""Server mode: ``/v1/chat/completions`` with the server's own template, reasoning and tool-call parsers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

from agentkit.llm.backend import HTTPBackend
from agentkit.llm.chat_stream import ChatTurn, complete_event
from agentkit.llm.errors import LLMError
from agentkit.llm.http import Endpoint, RetryableError, backoff_delay
from agentkit.llm.types import (
    ModelEvent,
    ModelRequest,
    StepFinished,
    StepOutput,
    Usage,
    turn_finish_reason,
)
from agentkit.qwen3.parser import parse_output
from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.types import InvalidToolCall, ParsedOutput, ToolCall

CONTINUING_SERVERS = ("vllm", "agentkit-simulator")
"""``owned_by`` of the servers whose chat completions take ``continue_final_message``."""


def _wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History as the server expects it: assistant reasoning under ``reasoning_content`` (what the template reads)."""
    out = []
    for message in messages:
        if (
            message.get("role") == "assistant"
            and message.get("reasoning")
            and not message.get("reasoning_content")
        ):
            message = {**message, "reasoning_content": message["reasoning"]}
            message.pop("reasoning")
        out.append(message)
    return out


class ServerBackend(HTTPBackend):
    """The server renders and parses; we still check every call it returns against the tool schemas."""

    mode = "server"

    continue_final_message: bool | None = None
    """Whether the server continues a final assistant message (vLLM's ``continue_final_message``); None:
    decided from ``/v1/models`` (vLLM and the agentkit simulator do)."""

    async def _attempt(self, request: ModelRequest, endpoint: Endpoint) -> AsyncIterator[ModelEvent]:
        started = time.perf_counter()
        thinking = self.effective_thinking(request.thinking)
        if thinking and request.thinking_budget is not None:
            raise LLMError(
                "thinking_budget needs native mode (agentkit stops the reasoning and continues the turn "
                "itself; in server mode the server generates the whole turn). Use NativeBackend or drop the budget."
            )
        await self._check_prompt_fits(request, thinking, endpoint)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": _wire_messages(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            **request.sampling,
        }
        if request.tools:
            body["tools"] = request.tools
        if self.variant == "hybrid":
            body["chat_template_kwargs"] = {"enable_thinking": thinking}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        usage = Usage()
        turn = ChatTurn(lambda index, raw: self._one_call(request, index, raw), usage)
        attempt = 0
        while True:
            self.trace("request", {"path": "/chat/completions", "body": body})
            try:
                async for chunk in endpoint.stream_events("/chat/completions", body):
                    self.trace("chunk", chunk)
                    for event in turn.feed(chunk):
                        yield event
                break
            except LLMError as exc:
                if not isinstance(exc, RetryableError):
                    if body.get("continue_final_message") is not True:
                        raise
                    self.continue_final_message = False  # refused: from now on cut turns restart
                    raise RetryableError(
                        f"the server refused to continue the turn ({exc}); restarting"
                    ) from exc
                if not turn.has_output or not self._can_continue(turn, thinking):
                    raise  # the step restarts; calls that started are not run again (the loop keys them)
                saved = turn.cut()
                attempt, notice = self._continuing(attempt, exc, saved)
                usage.continued_tokens.append(saved)
                yield notice
                await anyio.sleep(backoff_delay(attempt, retry_after=exc.retry_after))
                body = self._continuation(body, turn, request)
                turn.resume()
        parsed = self._checked(request, "".join(turn.reasoning) or None, "".join(turn.content), turn)
        for call in parsed.all_calls():
            if call.index not in turn.checked:
                yield complete_event(call)
        self.trace("server.step", {"finish_reason": turn.finish, "duration_s": time.perf_counter() - started})
        finish = turn_finish_reason(turn.finish, parsed)
        yield StepFinished(StepOutput(parsed=parsed, finish_reason=finish, usage=usage, thinking=thinking))

    def _can_continue(self, turn: ChatTurn, thinking: bool) -> bool:
        """A cut turn continues where the server can and the template lets the model write on: past the
        reasoning (the template closes a final message's think block), calls in hermes format."""
        able = self.continue_final_message
        if able is None:
            able = self.owned_by in CONTINUING_SERVERS
        if not able or (thinking and not turn.answering):
            return False
        return self.tool_format == "hermes" or not turn.calls

    def _continuation(self, body: dict[str, Any], turn: ChatTurn, request: ModelRequest) -> dict[str, Any]:
        """The request that continues ``turn``: the same, with the turn so far as the final message."""
        partial = {"role": "assistant", "content": turn.continuation_text()}
        if turn.reasoning:
            partial["reasoning_content"] = "".join(turn.reasoning)
        body = {**body, "messages": [*_wire_messages(request.messages), partial]}
        body["continue_final_message"], body["add_generation_prompt"] = True, False
        if request.max_tokens is not None:
            body["max_tokens"] = max(request.max_tokens - turn.usage.completion_tokens, 1)
        return body

    async def _check_prompt_fits(self, request: ModelRequest, thinking: bool, endpoint: Endpoint) -> None:
        """Fail before sending a prompt longer than ``max_model_len``: the server renders it as the official
        template does, so our renderer tells its length."""
        if not self.max_model_len:
            return
        try:
            prompt = render_prompt(
                request.messages, request.tools or None, enable_thinking=thinking, variant=self.variant
            )
        except ValueError:  # history our renderer refuses: leave the judgement to the server
            return
        self.check_context(await self.count_prompt(prompt, endpoint), request.max_tokens)

    def _one_call(self, request: ModelRequest, index: int, raw: dict[str, str]) -> ToolCall | InvalidToolCall:
        """One call the server returned, checked with our parser's policy against the tool schemas."""
        text = f'<tool_call>\n{{"name": {json.dumps(raw["name"])}, "arguments": {raw["arguments"] or "{}"}}}\n</tool_call>'
        parsed = parse_output(text, tools=request.tools or None, tool_format="hermes", thinking=False)
        (call,) = parsed.all_calls()
        call.index = index
        if raw["id"]:
            call.id = raw["id"]
        return call

    def _checked(
        self,
        request: ModelRequest,
        reasoning: str | None,
        content: str,
        turn: ChatTurn,
    ) -> ParsedOutput:
        """Validate the server's calls with our parser's policy; recover calls a server left in the content."""
        if turn.calls:
            made = [
                turn.checked.get(i) or self._one_call(request, i, raw)
                for i, raw in sorted(turn.calls.items())
            ]
            parsed = ParsedOutput(
                content=content or None,
                tool_calls=[c for c in made if isinstance(c, ToolCall)],
                invalid_tool_calls=[c for c in made if isinstance(c, InvalidToolCall)],
            )
        elif "<tool_call>" in content or "<function=" in content:
            # The server's tool parser gave up (vLLM drops every call when one is bad): parse it ourselves.
            parsed = parse_output(
                content, tools=request.tools or None, tool_format=self.tool_format, thinking=False
            )
        else:
            parsed = ParsedOutput(content=content or None)
        parsed.reasoning_content = reasoning
        return parsed
