"""The context policy's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """How a run stays inside the context window.

    When the next prompt would not fit ``max_input_tokens`` (default: the server's ``max_model_len``
    minus the room kept for the output), the oldest tool results are elided first (a stub says what
    was dropped and how to get it again); if that is not enough and ``summarize`` is on, the oldest
    turns are replaced by a summary written in a non-thinking step. The system message, the task and
    the latest ``keep_turns`` turns always stay. Each compaction frees ``headroom`` of the budget
    beyond what the step needs, so the prompt then only grows for a while (the server's prefix cache
    keeps hitting) instead of changing at every step.
    """

    max_input_tokens: int | None = None
    """Prompt budget in tokens (Qwen-Agent's ``max_input_tokens``); None: the server's window less ``output_tokens``."""
    output_tokens: int | None = None
    """Room kept for the model's output; None: ``max_tokens`` when set, else a quarter of the window (at most 8192)."""
    headroom: float = 0.5
    """Fraction of the budget a compaction frees beyond the need."""
    keep_turns: int = 2
    """The latest assistant turns (with their tool results) that are never compacted."""
    summarize: bool = True
    """Summarise the oldest turns when eliding tool results is not enough."""
    summary_tokens: int = 600
    """Longest summary the summarising step may write."""

    def __post_init__(self) -> None:
        if self.max_input_tokens is not None and self.max_input_tokens < 256:
            raise ValueError(f"context.max_input_tokens must be at least 256, got {self.max_input_tokens}")
        if not 0 <= self.headroom < 0.9:
            raise ValueError(f"context.headroom is a fraction of the budget in [0, 0.9), got {self.headroom}")
        if self.keep_turns < 1:
            raise ValueError(f"context.keep_turns must be at least 1, got {self.keep_turns}")

    def output_room(self, window: int, max_tokens: int | None) -> int:
        if self.output_tokens is not None:
            return self.output_tokens
        return max_tokens if max_tokens is not None else min(8192, window // 4)
