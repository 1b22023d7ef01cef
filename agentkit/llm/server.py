"""Server mode: ``/v1/chat/completions`` with the server's own template, reasoning and tool-call parsers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from agentkit.llm.backend import HTTPBackend
from agentkit.llm.errors import LLMError
from agentkit.llm.http import Endpoint
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
from agentkit.qwen3.types import (
    ContentDelta,
    InvalidToolCall,
    ParsedOutput,
    ReasoningDelta,
    ToolCall,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)


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
        self.trace("request", {"path": "/chat/completions", "body": body})
        reasoning: list[str] = []
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        checked: dict[int, ToolCall | InvalidToolCall] = {}  # calls known complete, reported as they closed
        finish = "stop"
        usage = Usage()
        async for chunk in endpoint.stream_events("/chat/completions", body):
            self.trace("chunk", chunk)
            if chunk.get("usage"):
                usage.prompt_tokens = chunk["usage"].get("prompt_tokens", 0)
                usage.completion_tokens = chunk["usage"].get("completion_tokens", 0)
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                think = delta.get("reasoning_content") or delta.get("reasoning")
                if think:
                    reasoning.append(think)
                    yield ReasoningDelta(think)
                if delta.get("content"):
                    content.append(delta["content"])
                    yield ContentDelta(delta["content"])
                for fragment in delta.get("tool_calls") or []:
                    index = fragment.get("index", len(calls))
                    for earlier in calls:  # a later call began: the earlier ones are complete
                        if earlier < index and earlier not in checked:
                            checked[earlier] = self._one_call(request, earlier, calls[earlier])
                            yield _complete_event(checked[earlier])
                    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
                    function = fragment.get("function") or {}
                    if fragment.get("id"):
                        call["id"] = fragment["id"]
                    if function.get("name") and not call["name"]:
                        call["name"] = function["name"]
                        yield ToolCallStarted(index, call["id"], call["name"])
                    if function.get("arguments"):
                        call["arguments"] += function["arguments"]
                        yield ToolCallArgsDelta(index, function["arguments"])
                        if index not in checked and _closed_object(call["arguments"]):
                            checked[index] = self._one_call(request, index, call)
                            yield _complete_event(checked[index])
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        parsed = self._checked(request, "".join(reasoning) or None, "".join(content), calls, checked)
        for call in parsed.all_calls():
            if call.index not in checked:
                yield _complete_event(call)
        self.trace("server.step", {"finish_reason": finish, "duration_s": time.perf_counter() - started})
        finish = turn_finish_reason(finish, parsed)
        yield StepFinished(StepOutput(parsed=parsed, finish_reason=finish, usage=usage, thinking=thinking))

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
        calls: dict[int, dict[str, str]],
        checked: dict[int, ToolCall | InvalidToolCall],
    ) -> ParsedOutput:
        """Validate the server's calls with our parser's policy; recover calls a server left in the content."""
        if calls:
            made = [checked.get(i) or self._one_call(request, i, raw) for i, raw in sorted(calls.items())]
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


def _complete_event(call: ToolCall | InvalidToolCall) -> ToolCallComplete | ToolCallInvalid:
    return ToolCallInvalid(call) if isinstance(call, InvalidToolCall) else ToolCallComplete(call)


def _closed_object(arguments: str) -> bool:
    """Whether a call's streamed arguments already form a whole JSON object (nothing more can follow)."""
    if not arguments.rstrip().endswith("}"):
        return False
    try:
        return isinstance(json.loads(arguments), dict)
    except ValueError:
        return False
