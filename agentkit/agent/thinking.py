"""When a step thinks: planning steps do, steps that summarise successful tool results don't."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from agentkit.tooling.policy import ToolPolicy

ThinkingMode = Literal["auto", "on", "off"]


def step_thinks(
    mode: ThinkingMode,
    previous_results: Sequence[tuple[str, bool]] | None,
    policies: Mapping[str, ToolPolicy],
) -> bool:
    """Decide one step's thinking.

    ``previous_results`` holds ``(tool name, is_error)`` for the results this step answers, or None when
    the step answers a user message. ``auto``: think to answer a user message and after any tool error
    (planning); otherwise a tool's own ``thinking`` override decides (``on`` wins); else don't
    (summarising).
    """
    if mode != "auto":
        return mode == "on"
    if not previous_results or any(is_error for _, is_error in previous_results):
        return True
    overrides = {policies[name].thinking for name, _ in previous_results if name in policies}
    return "on" in overrides
