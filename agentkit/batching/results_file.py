"""The batch's output: one JSON line per finished item, on disk (fsync) before it is reported; resumable.

Reopening a results file reads the ids already finished; a last line cut off by a crash (no newline, or
not JSON) is dropped so that its item runs again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agentkit.batching.items import BatchInputError


def _record(line: bytes) -> tuple[str, str] | None:
    """``(id, status)`` of a whole result line; None for a line cut off (no newline) or not a result."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "id" not in record:
        return None
    return str(record["id"]), str(record.get("status", ""))


class ResultsFile:
    """Appends result lines to ``path``; ``done`` holds the ids already there (and those written since)."""

    def __init__(self, path: str | Path, *, redo_errors: bool = False):
        self.path = Path(path)
        self.done: set[str] = set()
        self.statuses: dict[str, str] = {}
        self.dropped_partial = False
        self._scan(redo_errors)
        self._file = self.path.open("ab")

    def _scan(self, redo_errors: bool) -> None:
        """Read the ids done, line by line (a results file can be far larger than memory)."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        good_end = 0  # the end of the last whole, valid line
        bad: int | None = None  # the number of a line that is not a result, if one was seen
        kept = self.path.with_name(self.path.name + ".tmp").open("wb") if redo_errors else None
        try:
            with self.path.open("rb") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        good_end += len(line) if bad is None else 0
                        continue
                    if bad is not None:  # a bad line with results after it: damage, not a cut-off end
                        raise BatchInputError(
                            f"{self.path}:{bad}: not a result line (a JSON object with an id); the file "
                            "is damaged in the middle: remove that line, or write the results to a new file"
                        )
                    record = _record(line)
                    if record is None:
                        bad = n
                        continue
                    good_end += len(line)
                    if redo_errors and record[1] == "error":
                        continue
                    self.done.add(record[0])
                    self.statuses[record[0]] = record[1]
                    if kept is not None:
                        kept.write(line)
            self.dropped_partial = bad is not None
            if kept is not None:
                kept.flush()
                os.fsync(kept.fileno())
                kept.close()
                os.replace(kept.name, self.path)  # atomically, without the failed items' lines
            elif good_end < self.path.stat().st_size:
                with self.path.open("r+b") as f:
                    f.truncate(good_end)
                    os.fsync(f.fileno())
        finally:
            if kept is not None and not kept.closed:
                kept.close()
                Path(kept.name).unlink(missing_ok=True)

    def write(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append the records not written yet and put them on disk; returns those written."""
        fresh = []
        for record in records:
            item_id = str(record["id"])
            if item_id in self.done:
                continue
            self.done.add(item_id)
            self.statuses[item_id] = str(record.get("status", ""))
            fresh.append(record)
        if fresh:
            payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in fresh)
            self._file.write(payload.encode())
            self._file.flush()
        return fresh

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
