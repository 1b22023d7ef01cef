"""The loop's side of the context policy: when and how a run's history is fitted (``agentkit.context``),
and the non-thinking model step that writes a summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import aclosing
from typing import Any

from agentkit.context import Compaction, ContextKeeper, ContextPolicy, TokenCounter
from agentkit.llm.errors import LLMError
from agentkit.llm.types import LLM, NON_THINKING_SAMPLING, ModelRequest, StepFinished, StepOutput
from agentkit.qwen3.template import render_prompt

SUMMARY_SYSTEM = (
    "You condense an agent's earlier work so that it can go on without it. Write a short factual summary: "
    "what was asked, what each tool call found (names, numbers, paths, URLs, errors), what is done and "
    "what is left. No preamble."
)
SUMMARY_ASK = "Summarise the steps above for the agent that continues this task."


class HistoryFitter:
    """Fits one agent's runs into ``llm``'s context window under ``policy``."""

    def __init__(
        self,
        llm: LLM,
        policy: ContextPolicy,
        count: TokenCounter | None,
        sampling: dict[str, Any],
        max_tokens: int | None,
    ) -> None:
        self.llm, self.policy, self.max_tokens = llm, policy, max_tokens
        self._sampling = sampling
        self._keeper = ContextKeeper(policy, count, self.summary_step)

    @classmethod
    def for_agent(
        cls,
        llm: LLM,
        policy: ContextPolicy | None,
        count: TokenCounter | None,
        sampling: dict[str, Any],
        max_tokens: int | None,
    ) -> HistoryFitter | None:
        """None where there is nothing to fit to: no policy, or neither a budget nor a known window."""
        if policy is None or (getattr(llm, "context_window", None) is None and not policy.max_input_tokens):
            return None
        return cls(llm, policy, count, sampling, max_tokens)

    async def fit(
        self, messages: list[dict[str, Any]], tools: Sequence[dict[str, Any]] | None, thinking: bool
    ) -> Compaction | None:
        """Compact ``messages`` in place when the next prompt would not fit; what was done, or None."""
        window_of: Callable[[], Any] | None = getattr(self.llm, "context_window", None)
        window = await window_of() if window_of is not None else None
        variant = getattr(self.llm, "variant", None) or "hybrid"

        def render(history: list[dict[str, Any]]) -> str:
            return render_prompt(history, tools or None, enable_thinking=thinking, variant=variant)

        return await self._keeper.fit(messages, render, window=window, max_tokens=self.max_tokens)

    async def summary_step(self, transcript: str) -> str:
        """A non-thinking model step that summarises ``transcript`` (the turns being compacted)."""
        request = ModelRequest(
            messages=[
                {"role": "system", "content": SUMMARY_SYSTEM},
                {"role": "user", "content": f"{transcript}\n\n{SUMMARY_ASK}"},
            ],
            thinking=False,
            sampling={**NON_THINKING_SAMPLING, **self._sampling},
            max_tokens=self.policy.summary_tokens,
        )
        output: StepOutput | None = None
        async with aclosing(self.llm.stream(request)) as events:
            async for event in events:
                if isinstance(event, StepFinished):
                    output = event.output
        if output is None:
            raise LLMError("the summarising step ended without an answer")
        return output.parsed.content or ""
