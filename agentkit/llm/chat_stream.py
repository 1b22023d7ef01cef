"""One ``/v1/chat/completions`` turn read from its stream chunks: events as they come, each tool call
checked the moment it is complete, and what a continuation of the turn needs after a cut.

A call is complete when a later call begins or when its streamed arguments already form a whole JSON
object. After a cut the turn can go on in a continuation request (vLLM's ``continue_final_message``):
its calls are numbered after the ones before, and a call cut mid-way that the model writes again is
not shown twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentkit.llm.types import Usage
from agentkit.qwen3.tokens import count_tokens
from agentkit.qwen3.types import (
    ContentDelta,
    InvalidToolCall,
    ParseEvent,
    ReasoningDelta,
    ToolCall,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)

AnyCall = ToolCall | InvalidToolCall
CallCheck = Callable[[int, dict[str, str]], AnyCall]


def complete_event(call: AnyCall) -> ToolCallComplete | ToolCallInvalid:
    return ToolCallInvalid(call) if isinstance(call, InvalidToolCall) else ToolCallComplete(call)


def _closed_object(arguments: str) -> bool:
    """Whether a call's streamed arguments already form a whole JSON object (nothing more can follow)."""
    if not arguments.rstrip().endswith("}"):
        return False
    try:
        return isinstance(json.loads(arguments), dict)
    except ValueError:
        return False


class ChatTurn:
    """The state of one chat turn across its stream segments (the first request and continuations)."""

    def __init__(self, check: CallCheck, usage: Usage) -> None:
        self._check = check
        self.usage = usage
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.checked: dict[int, AnyCall] = {}
        self.finish = "stop"
        self._offset = 0  # the turn index of this segment's first call
        self._shown: dict[int, tuple[str, str]] = {}  # a call cut mid-way: the name and arguments shown
        self._segment: list[str] = []  # text of this segment, for its token count when it is cut
        self._base_tokens = 0  # output tokens of the segments before this one
        self._continued = False

    @property
    def has_output(self) -> bool:
        return bool(self.reasoning or self.content or self.calls)

    @property
    def answering(self) -> bool:
        """Whether the turn is past its reasoning (content or a call has come)."""
        return bool(self.content or self.calls)

    def feed(self, chunk: dict[str, Any]) -> list[ParseEvent]:
        """The events one stream chunk brings."""
        events: list[ParseEvent] = []
        usage = chunk.get("usage")
        if usage:
            if not self._continued:  # a continuation's prompt holds the turn so far: the turn's own stays
                self.usage.prompt_tokens = usage.get("prompt_tokens", 0)
            self.usage.completion_tokens = self._base_tokens + usage.get("completion_tokens", 0)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            think = delta.get("reasoning_content") or delta.get("reasoning")
            if think:
                self.reasoning.append(think)
                self._segment.append(think)
                events.append(ReasoningDelta(think))
            text = delta.get("content")
            if text:
                self.content.append(text)
                self._segment.append(text)
                events.append(ContentDelta(text))
            for fragment in delta.get("tool_calls") or ():
                self._fragment(fragment, events)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return events

    def _fragment(self, fragment: dict[str, Any], events: list[ParseEvent]) -> None:
        index = self._offset + fragment.get("index", len(self.calls) - self._offset)
        for earlier in self.calls:  # a later call began: the earlier ones are complete
            if earlier < index and earlier not in self.checked:
                self._complete(earlier, events)
        call = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        function = fragment.get("function") or {}
        shown_name, shown_args = self._shown.get(index, ("", ""))
        if fragment.get("id") and not call["id"]:
            call["id"] = fragment["id"]
        name = function.get("name")
        if name and not call["name"]:
            call["name"] = name
            self._segment.append(name)
            if name != shown_name:
                self._shown.pop(index, None)
                shown_args = ""
                events.append(ToolCallStarted(index, call["id"], name))
        piece = function.get("arguments")
        if piece:
            before = call["arguments"]
            call["arguments"] += piece
            self._segment.append(piece)
            whole = call["arguments"]
            if len(whole) > len(shown_args) and whole.startswith(shown_args):  # only what was not shown
                events.append(ToolCallArgsDelta(index, whole[max(len(before), len(shown_args)) :]))
            elif not shown_args.startswith(whole):
                events.append(ToolCallArgsDelta(index, piece))
            if index not in self.checked and _closed_object(whole):
                self._complete(index, events)

    def _complete(self, index: int, events: list[ParseEvent]) -> None:
        self.checked[index] = self._check(index, self.calls[index])
        events.append(complete_event(self.checked[index]))

    def cut(self) -> int:
        """The stream was cut: count the segment's output (no usage chunk came) and return the tokens
        received so far in the turn (what a continuation keeps)."""
        self._base_tokens += count_tokens("".join(self._segment))
        self.usage.completion_tokens = self._base_tokens
        self._segment.clear()
        return count_tokens(self.continuation_text() or "") + count_tokens("".join(self.reasoning))

    def continuation_text(self) -> str:
        """The assistant content a continuation request ends with: the content so far and the complete
        calls in hermes format (a call cut mid-way is left for the model to write again)."""
        text = "".join(self.content)
        for index in sorted(self.checked):
            raw = self.calls[index]
            name = json.dumps(raw["name"], ensure_ascii=False)
            separator = "\n" if text and not text.endswith("\n") else ""
            text += f'{separator}<tool_call>\n{{"name": {name}, "arguments": {raw["arguments"] or "{}"}}}\n</tool_call>'
        return text

    def resume(self) -> None:
        """A continuation begins: a call cut mid-way is dropped (remembering what was shown of it) and
        the continuation's calls are numbered after the complete ones."""
        for index in [i for i in self.calls if i not in self.checked]:
            raw = self.calls.pop(index)
            self._shown[index] = (raw["name"], raw["arguments"])
        self._offset = len(self.checked)
        self._continued = True
