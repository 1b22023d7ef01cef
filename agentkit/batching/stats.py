"""What a batch did: counts by status, latency percentiles, steps and tool calls per item, tokens,
prefix-cache reuse and the slowest items; kept small per item so 100,000 items cost little memory."""

from __future__ import annotations

import heapq
import time
from collections import Counter
from typing import Any

SLOWEST = 5


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class BatchStats:
    """Fed every result line as it finishes; ``summary()`` is the end-of-batch report as one object."""

    def __init__(self, total: int, skipped: int = 0):
        self.total, self.skipped = total, skipped
        self.started = time.monotonic()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.steps = 0
        self.tool_calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cached_tokens = 0
        self.cache_measured_prompt_tokens = 0
        self.retried = 0
        self._slowest: list[tuple[float, str]] = []

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return self.statuses["error"]

    def add(self, record: dict[str, Any]) -> None:
        self.statuses[str(record.get("status"))] += 1
        latency = float(record.get("duration_s") or 0.0)
        self.latencies.append(latency)
        item = (latency, str(record.get("id")))
        if len(self._slowest) < SLOWEST:
            heapq.heappush(self._slowest, item)
        else:
            heapq.heappushpop(self._slowest, item)
        steps = record.get("steps") or []
        self.steps += len(steps)
        for step in steps:
            self.tool_calls += len(step.get("tool_calls") or [])
            usage = step.get("usage") or {}
            if usage.get("cached_prefix_tokens") is not None:
                self.cached_tokens += usage["cached_prefix_tokens"]
                self.cache_measured_prompt_tokens += usage.get("prompt_tokens", 0)
        usage = record.get("usage") or {}
        self.prompt_tokens += usage.get("prompt_tokens", 0)
        self.completion_tokens += usage.get("completion_tokens", 0)
        if record.get("attempts", 1) > 1:
            self.retried += 1

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def summary(self) -> dict[str, Any]:
        done = self.done
        elapsed = self.elapsed()
        latencies = sorted(self.latencies)
        per = (lambda x: round(x / done, 2)) if done else (lambda x: 0.0)
        reuse = (
            round(self.cached_tokens / self.cache_measured_prompt_tokens, 4)
            if self.cache_measured_prompt_tokens
            else None
        )
        return {
            "items": self.total,
            "done": done,
            "skipped": self.skipped,
            "not_done": self.total - self.skipped - done,
            "by_status": dict(sorted(self.statuses.items())),
            "retried": self.retried,
            "elapsed_s": round(elapsed, 3),
            "items_per_s": round(done / elapsed, 2),
            "latency_s": {
                "p50": round(percentile(latencies, 50), 4),
                "p95": round(percentile(latencies, 95), 4),
                "p99": round(percentile(latencies, 99), 4),
                "max": round(latencies[-1], 4) if latencies else 0.0,
            },
            "steps_per_item": per(self.steps),
            "tool_calls_per_item": per(self.tool_calls),
            "tokens": {
                "prompt": self.prompt_tokens,
                "completion": self.completion_tokens,
                "prompt_per_s": round(self.prompt_tokens / elapsed, 1),
                "completion_per_s": round(self.completion_tokens / elapsed, 1),
            },
            "prefix_cache_reuse": reuse,
            "slowest": [
                {"id": item_id, "duration_s": round(latency, 4)}
                for latency, item_id in sorted(self._slowest, reverse=True)
            ],
        }


def summary_text(summary: dict[str, Any], output: str | None) -> str:
    """The summary for a person, a few lines."""
    s = summary
    lat, tok = s["latency_s"], s["tokens"]
    statuses = ", ".join(f"{k} {v}" for k, v in s["by_status"].items()) or "none"
    lines = [
        f"{s['done']} items in {s['elapsed_s']:.1f} s ({s['items_per_s']:g} items/s): {statuses}"
        + (f"; {s['skipped']} already in the output" if s["skipped"] else "")
        + (f"; {s['not_done']} not done" if s["not_done"] else ""),
        f"latency p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s",
        f"per item: steps {s['steps_per_item']:g}, tool calls {s['tool_calls_per_item']:g}"
        + (f"; {s['retried']} items retried" if s["retried"] else ""),
        f"tokens: {tok['prompt']} in ({tok['prompt_per_s']:g}/s), {tok['completion']} out ({tok['completion_per_s']:g}/s)"
        + (
            f"; prefix cache reuse {s['prefix_cache_reuse']:.0%}"
            if s["prefix_cache_reuse"] is not None
            else ""
        ),
    ]
    if s["slowest"]:
        lines.append("slowest: " + ", ".join(f"{x['id']} ({x['duration_s']:.2f} s)" for x in s["slowest"]))
    if output:
        lines.append(f"results: {output}")
    return "\n".join(lines)
