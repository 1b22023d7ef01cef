"""agentkit's agent events as Qwen-Agent's growing response list, message for message.

Per model step Qwen-Agent yields a reasoning message (``content: ''``, ``reasoning_content``) when the
model thought, a text message when it wrote text, and one message per tool call (``function_call``,
``extra.function_id`` counting from ``'1'`` within the step); after each call its ``role: function``
result (``name`` = the tool), in call order. Reasoning and text messages carry ``extra: {}`` as
Qwen-Agent's do. ``name`` (the agent's name) is set by the agent, not here.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.agent.events import StepStarted, ToolFinished, ToolRunning
from agentkit.llm.types import StepFinished, StreamRestarted
from agentkit.qwen3.types import ContentDelta, ReasoningDelta
from agentkit.qwen_agent_compat.messages import Message

THINK_END = "</think>"
CALL_OPEN = "<tool_call>"


def visible_text(raw: str, thinking: bool) -> str:
    """The text Qwen-Agent shows for one raw turn: after the think block, before the first call."""
    if thinking or THINK_END in raw:
        raw = raw.split(THINK_END, 1)[1] if THINK_END in raw else ""
    text = raw.lstrip("\n").split(CALL_OPEN, 1)[0]
    return text if text.strip() else ""


class ResponseShaper:
    """Feed agent (or model) events; ``responses`` is the list Qwen-Agent would have yielded so far."""

    def __init__(self, with_tools: bool = True, raw_api: bool = False) -> None:
        # Qwen-Agent's own tool-call parsing marks messages with ``extra: {}`` and numbers the calls; with
        # ``use_raw_api`` (the server parses calls) the messages are the server's: no extra, its call ids
        self._extra = {"extra": {}} if with_tools and not raw_api else {}
        self._raw_api = raw_api
        self.responses: list[Message] = []
        self._step_start = 0
        self._reasoning = ""
        self._text = ""
        self._thinking = True
        self._calls: dict[str, tuple[int, str]] = {}  # call id -> (order in step, function_id)
        self._results: dict[int, Message] = {}
        self._next_result = 0

    def _rebuild(self, calls: list[Message] | None = None) -> None:
        """The current step's messages from what it has streamed so far."""
        keep = self.responses[: self._step_start]
        step: list[Message] = []
        if self._reasoning:
            step.append(
                Message(role="assistant", content="", reasoning_content=self._reasoning, **self._extra)
            )
        if self._text:
            step.append(Message(role="assistant", content=self._text, **self._extra))
        existing = [m for m in self.responses[self._step_start :] if m.get("function_call")]
        self.responses = keep + step + (calls if calls is not None else existing)

    def feed(self, event: Any) -> bool:
        """Apply one event; True when the list changed."""
        if isinstance(event, StepStarted):
            self._step_start = len(self.responses)
            self._reasoning = self._text = ""
            self._thinking = event.thinking
            self._calls, self._results, self._next_result = {}, {}, 0
            return False
        if isinstance(event, StreamRestarted):
            self._reasoning = self._text = ""
            self._rebuild([])
            return True
        if isinstance(event, ReasoningDelta):
            self._reasoning += event.text
        elif isinstance(event, ContentDelta):
            self._text += event.text
        elif isinstance(event, StepFinished):
            raw = event.output.raw_text
            if raw is None:
                return False
            text = visible_text(raw, event.output.thinking)
            if text == self._text:
                return False
            self._text = text
        elif isinstance(event, ToolRunning):
            order = len(self._calls)
            function_id = event.call_id if self._raw_api else str(order + 1)
            self._calls[event.call_id] = (order, function_id)
            call = Message(
                role="assistant",
                content="",
                function_call=Message(
                    name=event.name, arguments=json.dumps(event.arguments, ensure_ascii=False)
                ),
                extra={"function_id": function_id},
            )
            self.responses.append(call)
            return True
        elif isinstance(event, ToolFinished):
            order, function_id = self._calls.get(event.call_id, (len(self._calls), str(len(self._calls) + 1)))
            self._results[order] = result_message(event, function_id)
            changed = False
            while self._next_result in self._results:  # Qwen-Agent runs calls one by one, in order
                self.responses.append(self._results.pop(self._next_result))
                self._next_result += 1
                changed = True
            return changed
        else:
            return False
        self._rebuild()
        return True


def result_message(event: ToolFinished, function_id: str) -> Message:
    result = event.result
    content: Any = result.text
    items = result.structured if isinstance(result.structured, list) and result.attachments else None
    if items is not None:  # Qwen-Agent ContentItems (images, files) stay a list of items
        content = items
    return Message(role="function", content=content, name=event.name, extra={"function_id": function_id})
