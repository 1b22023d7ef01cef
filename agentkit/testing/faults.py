"""Faults the simulator injects on demand: error statuses, cut streams, delays, ``length`` cuts.

A fault rule is a mapping. For each effect (delay, status, cut, length cut, chunk delay) the first rule
that sets it, matches the request's path and has uses left applies; a rule uses one of its ``times`` only
when it has an effect, and an error status leaves the stream faults armed for the next request. So
``[{status: 503}, {status: 429}]`` gives a 503, then a 429, then normal answers, and
``[{status: 503, times: 2}, {cut_after_chars: 30}]`` two 503s, then a cut stream::

    - {status: 503, times: 2}                  # two 503s, then normal answers
    - {status: 429, retry_after: 1}            # one 429 with a Retry-After header
    - {cut_after_chars: 40}                    # the stream (or body) stops after 40 output chars, no [DONE]
    - {length_after_tokens: 5}                 # the output ends after 5 tokens, finish_reason "length"
    - {first_byte_delay_s: 0.5, chunk_delay_s: 0.01, times: always}
    - {status: 503, path: chat/completions}    # only requests whose path contains this

``times`` is how many requests the rule hits (default 1, or ``always``). Rules come from the script and
can be replaced at runtime with ``POST /_sim/faults`` (a list of rules, or ``{"faults": [...]}``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agentkit.testing.validation import ScriptError, check_keys

_KEYS = (
    "status",
    "retry_after",
    "cut_after_chars",
    "length_after_tokens",
    "first_byte_delay_s",
    "chunk_delay_s",
)
_ALLOWED = (*_KEYS, "times", "path")
_GROUPS = (
    ("first_byte_delay_s",),
    ("status", "retry_after"),
    ("cut_after_chars",),
    ("length_after_tokens",),
    ("chunk_delay_s",),
)
_BEFORE_STATUS = ("first_byte_delay_s", "status")
_DELAYS = ("first_byte_delay_s", "chunk_delay_s")


def _is_set(key: str, value: Any) -> bool:
    return value is not None and not (key in _DELAYS and value == 0)


@dataclass(slots=True)
class Fault:
    """One fault rule; ``times`` None means every matching request."""

    status: int | None = None
    retry_after: float | None = None
    cut_after_chars: int | None = None
    length_after_tokens: int | None = None
    first_byte_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    times: int | None = 1
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in _KEYS if _is_set(k, getattr(self, k))}
        out["times"] = "always" if self.times is None else self.times
        if self.path:
            out["path"] = self.path
        return out


@dataclass(slots=True)
class AppliedFaults:
    """What the rules ask of one request (the first rule to set a field wins)."""

    status: int | None = None
    retry_after: float | None = None
    cut_after_chars: int | None = None
    length_after_tokens: int | None = None
    first_byte_delay_s: float = 0.0
    chunk_delay_s: float = 0.0


class FaultPlan:
    """The live fault rules of one simulator; ``take`` consumes one use of each rule that matches."""

    def __init__(self, rules: list[Fault]) -> None:
        self.rules = [replace(rule) for rule in rules]

    def take(self, path: str) -> AppliedFaults:
        """What applies to one request: per effect, the first matching rule with uses left. A rule uses
        one of its ``times`` only when it has an effect: an error status leaves stream faults armed."""
        applied = AppliedFaults()
        live = [r for r in self.rules if r.times != 0 and not (r.path and r.path not in path)]
        used: list[Fault] = []
        for lead, *rest in _GROUPS:
            if lead not in _BEFORE_STATUS and applied.status is not None:
                continue
            rule = next((r for r in live if _is_set(lead, getattr(r, lead))), None)
            if rule is None:
                continue
            for key in (lead, *rest):
                setattr(applied, key, getattr(rule, key))
            if rule not in used:
                used.append(rule)
        for rule in used:
            if rule.times is not None:
                rule.times -= 1
        return applied

    def remaining(self) -> list[dict[str, Any]]:
        return [rule.to_dict() for rule in self.rules if rule.times != 0]


def parse_faults(spec: Any, where: str = "faults") -> list[Fault]:
    """Validated fault rules from their script / JSON form."""
    if isinstance(spec, dict) and set(spec) == {"faults"}:
        spec = spec["faults"]
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, list):
        raise ScriptError(f"{where}: must be a list of fault rules, e.g. [{{status: 503, times: 2}}]")
    return [_fault(item, f"{where}[{i}]") for i, item in enumerate(spec)]


def _fault(item: Any, where: str) -> Fault:
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: a fault rule is a mapping such as {{status: 503, times: 2}}")
    check_keys(item, _ALLOWED, where)
    if not any(k in item for k in _KEYS):
        raise ScriptError(f"{where}: the rule does nothing; set one of {', '.join(_KEYS)}")
    times = item.get("times", 1)
    if times == "always":
        times = None
    elif isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ScriptError(f"{where}: times must be an integer >= 1 or 'always', got {times!r}")
    status = item.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise ScriptError(f"{where}: status must be an HTTP error code (400..599), got {status!r}")
    if item.get("retry_after") is not None and status is None:
        raise ScriptError(f"{where}: retry_after goes with a status (429 or 503); add status")
    fault = Fault(status=status, times=times, path=item.get("path"))
    for key in ("cut_after_chars", "length_after_tokens"):
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ScriptError(f"{where}: {key} must be an integer >= 0, got {value!r}")
        setattr(fault, key, value)
    for key in ("retry_after", "first_byte_delay_s", "chunk_delay_s"):
        value = item.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise ScriptError(f"{where}: {key} must be a number of seconds >= 0, got {value!r}")
        if value is not None:
            setattr(fault, key, float(value))
    return fault
