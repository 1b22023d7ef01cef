"""What the loop sends to a model endpoint and the one stream of events every backend returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentkit.qwen3.types import ParsedOutput, ParseEvent

THINKING_SAMPLING = {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0}
NON_THINKING_SAMPLING = {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "min_p": 0.0}


@dataclass(slots=True)
class ModelRequest:
    """One step's request: OpenAI-format messages and tools, thinking on or off, sampling."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    thinking: bool = True
    sampling: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    thinking_budget: int | None = None
    previous: StepOutput | None = None
    """The same run's previous step, for measuring prefix-cache reuse."""
    affinity: str | None = None
    """A key (the run id) that keeps one run on one replica, so its prefix cache is reused."""


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prefix_tokens: int | None = None
    """Prompt tokens that extend what the previous step left in the server's cache (native mode)."""
    reprefill_tokens: int | None = None
    """Tokens of the previous step's prompt + output the server must prefill again."""
    reprefill_forced_tokens: int | None = None
    """Of those, the ones the chat template forces (the last assistant turn re-rendered)."""
    continued_tokens: list[int] = field(default_factory=list)
    """Per cut stream that was continued (not restarted): the output tokens already received, which
    were not generated again."""

    @property
    def reprefill_extra_tokens(self) -> int | None:
        if self.reprefill_tokens is None or self.reprefill_forced_tokens is None:
            return None
        return self.reprefill_tokens - self.reprefill_forced_tokens

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.reprefill_tokens is not None:
            out["cached_prefix_tokens"] = self.cached_prefix_tokens
            out["reprefill_tokens"] = self.reprefill_tokens
            out["reprefill_forced_tokens"] = self.reprefill_forced_tokens
            out["reprefill_extra_tokens"] = self.reprefill_extra_tokens
        if self.continued_tokens:
            out["continued_tokens"] = list(self.continued_tokens)
        return out


@dataclass(slots=True)
class StepOutput:
    """A finished model step."""

    parsed: ParsedOutput
    finish_reason: str
    usage: Usage
    thinking: bool
    prompt: str | None = None
    """The raw prompt sent (native mode)."""
    raw_text: str | None = None
    """The raw generated text (native mode), including any thinking-budget insertion."""


def turn_finish_reason(finish: str, parsed: ParsedOutput) -> str:
    """A step's finish reason as every backend reports it, the way ``/v1/chat/completions`` does: a turn
    that stopped after making tool calls finished with ``tool_calls``."""
    return "tool_calls" if finish == "stop" and parsed.all_calls() else finish


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed in a retryable way and will be sent again after ``delay`` seconds."""

    attempt: int
    reason: str
    delay: float


@dataclass(frozen=True, slots=True)
class StreamRestarted:
    """A stream broke mid-way; what was shown of this step so far is void and the step restarts."""

    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class StreamContinued:
    """A stream broke mid-way and the same turn goes on from the text received: nothing shown is void,
    no token is generated again (``saved_tokens`` of them were kept)."""

    attempt: int
    reason: str
    saved_tokens: int


@dataclass(frozen=True, slots=True)
class StepFinished:
    output: StepOutput


ModelEvent = ParseEvent | Retrying | StreamRestarted | StreamContinued | StepFinished


class LLM(Protocol):
    """A model endpoint as one stream of events. Every backend (native, server, in-process) implements this."""

    model: str

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream one step; the last event is always ``StepFinished``. Raises ``LLMError`` on a final failure."""
        ...

    async def aclose(self) -> None: ...
