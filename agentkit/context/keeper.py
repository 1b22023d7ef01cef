"""Fitting a run's history into the context window before each model step (see ``ContextPolicy``)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentkit.context.counting import TokenCounter
from agentkit.context.policy import ContextPolicy
from agentkit.llm.errors import ContextOverflow
from agentkit.qwen3.tokens import count_tokens

Messages = list[dict[str, Any]]
Render = Callable[[Messages], str]
Summarizer = Callable[[str], Awaitable[str]]

ELIDED_MARK = "[elided to fit the context:"
_SUMMARY_HEAD = re.compile(r"\[Summary of (\d+) earlier turns, replaced to fit the context window\]")


def summary_turns(text: str) -> int | None:
    """How many assistant turns a summary message replaced, or None when ``text`` is not one."""
    found = _SUMMARY_HEAD.match(text)
    return int(found.group(1)) if found else None


def summary_head(turns: int) -> str:
    return f"[Summary of {turns} earlier turns, replaced to fit the context window]"


_RESULT_CHARS, _TEXT_CHARS, _ARGS_CHARS = 800, 1500, 300


class ContextTooSmall(ContextOverflow):
    """Even compacted, the next prompt does not fit: what must stay is larger than the window."""


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction did."""

    tokens_before: int
    tokens_after: int
    budget: int
    elided_results: int = 0
    summarized_messages: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "budget": self.budget,
            "elided_results": self.elided_results,
            "summarized_messages": self.summarized_messages,
        }


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _calls_by_id(messages: Messages) -> dict[str, dict[str, Any]]:
    out = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            out[call.get("id", "")] = call.get("function") or {}
    return out


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def elision_stub(message: dict[str, Any], call: dict[str, Any] | None) -> str:
    """What replaces an elided tool result: what it was and how to get it again."""
    name = (call or {}).get("name") or message.get("name") or "the tool"
    args = (call or {}).get("arguments") or ""
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return f"{ELIDED_MARK} {len(_text(message)):,} characters from {name}({_short(args, 120)}); call it again to see them]"


def transcript(messages: Messages) -> str:
    """The turns to summarise as plain text, long parts shortened."""
    calls = _calls_by_id(messages)
    lines = []
    for message in messages:
        role, text = message.get("role"), _text(message)
        if role == "tool":
            name = (
                (calls.get(message.get("tool_call_id", "")) or {}).get("name")
                or message.get("name")
                or "tool"
            )
            lines.append(f"[result of {name}] {_short(text, _RESULT_CHARS)}")
        elif role == "assistant":
            if text.strip():
                lines.append(f"[assistant] {_short(text.strip(), _TEXT_CHARS)}")
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                args = function.get("arguments")
                args = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
                lines.append(f"[assistant called] {function.get('name')}({_short(args or '', _ARGS_CHARS)})")
        else:
            lines.append(f"[{role}] {_short(text, _TEXT_CHARS)}")
    return "\n".join(lines)


class ContextKeeper:
    """Applies a ``ContextPolicy`` to one run's history, in place, before each step."""

    def __init__(
        self, policy: ContextPolicy, exact: TokenCounter | None = None, summarize: Summarizer | None = None
    ) -> None:
        self.policy = policy
        self._exact = exact
        self._summarize = summarize
        self._budget = 0

    async def _count(self, prompt: str) -> int:
        """Prompt tokens: the approximation, confirmed exactly (where a counter is given) near the budget."""
        approx = count_tokens(prompt)
        if self._exact is None or approx < self._budget * 0.85:
            return approx
        return await self._exact(prompt)

    def budget(self, window: int | None, max_tokens: int | None) -> int | None:
        """The prompt budget: the policy's, within the window less the output room."""
        limits = [self.policy.max_input_tokens] if self.policy.max_input_tokens else []
        if window:
            limits.append(window - self.policy.output_room(window, max_tokens))
        return min(limits) if limits else None

    async def fit(
        self, messages: Messages, render: Render, *, window: int | None, max_tokens: int | None
    ) -> Compaction | None:
        """Compact ``messages`` (in place) when their prompt would exceed the budget; None when it fits."""
        budget = self.budget(window, max_tokens)
        if budget is None:
            return None
        self._budget = budget
        before = await self._count(render(messages))
        if before <= budget:
            return None
        target = int(budget * (1 - self.policy.headroom))
        head, tail = self._protected(messages)
        elided, tokens = 0, before
        while tokens > target:
            more = self._elide(messages, head, tail, tokens - target)
            if not more:
                break
            elided += more
            tokens = await self._count(render(messages))
        summarized = 0
        if (
            tokens > budget and self.policy.summarize and self._summarize is not None
        ):  # lossy: only when needed
            summarized = await self._summarize_oldest(messages, head, tail, tokens - target)
            if summarized:
                tokens = await self._count(render(messages))
        if tokens > budget:
            raise ContextTooSmall(
                f"the next prompt is {tokens} tokens even after compacting the history, over the budget of "
                f"{budget} ({self._budget_origin(window, max_tokens, budget)}); the system message, the task "
                f"and the latest {self.policy.keep_turns} turns stay whole. Lower max_tool_output or "
                "context.keep_turns, or serve the model with a larger --max-model-len."
            )
        return Compaction(before, tokens, budget, elided, summarized)

    def _budget_origin(self, window: int | None, max_tokens: int | None, budget: int) -> str:
        if window and budget == window - self.policy.output_room(window, max_tokens):
            return f"max_model_len {window} less {window - budget} kept for the output"
        return "context.max_input_tokens"

    def _protected(self, messages: Messages) -> tuple[int, int]:
        """The end of the head (system message and task) and the start of the latest turns."""
        head = 0
        if messages and messages[0].get("role") == "system":
            head = 1
        if head < len(messages) and messages[head].get("role") == "user":
            head += 1
        assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant" and i >= head]
        tail = assistants[-self.policy.keep_turns] if len(assistants) >= self.policy.keep_turns else head
        return head, max(tail, head)

    def _elide(self, messages: Messages, head: int, tail: int, excess: int) -> int:
        """Replace the oldest tool results by stubs until about ``excess`` tokens are gone."""
        calls = _calls_by_id(messages[head:tail])
        freed = elided = 0
        for i in range(head, tail):
            if freed >= excess:
                break
            message = messages[i]
            text = _text(message)
            if message.get("role") != "tool" or not text or text.startswith(ELIDED_MARK):
                continue
            stub = elision_stub(message, calls.get(message.get("tool_call_id", "")))
            freed += count_tokens(text) - count_tokens(stub)
            messages[i] = {**message, "content": stub}
            elided += 1
        return elided

    async def _summarize_oldest(self, messages: Messages, head: int, tail: int, excess: int) -> int:
        """Replace the oldest whole turns (enough to free ``excess`` tokens and the summary's room) by a
        summary; returns how many messages were replaced."""
        assert self._summarize is not None
        need = excess + self.policy.summary_tokens
        end, freed = head, 0
        for i in range(head, tail):
            if freed >= need and messages[i].get("role") == "assistant":
                break  # cut only before an assistant turn: a tool result never loses its call
            freed += count_tokens(_text(messages[i])) + count_tokens(
                json.dumps(messages[i].get("tool_calls") or "")
            )
            end = i + 1
        if end < tail and messages[end].get("role") != "assistant":
            while end < tail and messages[end].get("role") != "assistant":
                end += 1
        if end <= head:
            return 0
        region = messages[head:end]
        turns = sum(1 if m.get("role") == "assistant" else summary_turns(_text(m)) or 0 for m in region)
        summary = (await self._summarize(transcript(region))).strip()
        messages[head:end] = [
            {"role": "user", "content": f"{summary_head(turns)}\n{summary or '(no summary)'}"}
        ]
        return end - head
