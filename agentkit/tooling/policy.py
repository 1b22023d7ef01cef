"""Per-tool settings a task can give: approval, a thinking override for the step after it, a timeout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Approval = Literal["allow", "ask", "deny"]


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    approval: Approval = "allow"
    thinking: Literal["on", "off"] | None = None
    """Think (or not) on the step after this tool's result, overriding ``thinking: auto``."""
    timeout: float | None = None
    """Seconds before the call is cancelled; ``None`` uses the run's default."""
