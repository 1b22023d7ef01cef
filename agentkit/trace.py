"""``--trace FILE``: every request, response chunk and tool event as one JSON object per line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any


class Tracer:
    def __init__(self, path: str | Path):
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, kind: str, payload: Any) -> None:
        record = {"t": round(time.time(), 6), "kind": kind, "data": payload}
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._file.close()


def traced(tracer: Tracer, view: Any) -> Any:
    """``view`` (an ``on_event`` handler, or None) that also writes tool start, finish and error events,
    with timings, to the trace."""
    from agentkit.agent.events import ToolFinished, ToolRunning

    started: dict[str, float] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, ToolRunning):
            started[event.call_id] = time.perf_counter()
            tracer.write(
                "tool.start",
                {
                    "step": event.step + 1,
                    "id": event.call_id,
                    "name": event.name,
                    "arguments": event.arguments,
                },
            )
        elif isinstance(event, ToolFinished):
            began = started.pop(event.call_id, None)
            tracer.write(
                "tool.error" if event.result.is_error else "tool.finish",
                {
                    "step": event.step + 1,
                    "id": event.call_id,
                    "name": event.name,
                    "duration_s": round(event.duration_s, 6),
                    "wall_s": round(time.perf_counter() - began, 6) if began is not None else None,
                    "result_chars": len(event.result.text),
                    **({"error": event.result.text} if event.result.is_error else {}),
                },
            )
        if view is not None:
            view(event)

    return on_event
