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
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        keep_end = 0  # bytes of whole, valid lines
        kept: list[bytes] = []
        lines = data.split(b"\n")
        for n, line in enumerate(lines, 1):
            last = n == len(lines)
            if not line.strip():
                if not last:
                    keep_end += len(line) + 1
                continue
            try:
                record = json.loads(line) if not last else None  # a last line has no newline: cut off
            except ValueError:
                record = None
            if record is None or not isinstance(record, dict) or "id" not in record:
                if last or n == len(lines) - 1 and not lines[-1]:
                    self.dropped_partial = True
                    break
                raise BatchInputError(
                    f"{self.path}:{n}: not a result line (a JSON object with an id); the file is damaged "
                    "in the middle: remove that line, or write the results to a new file"
                )
            item_id = str(record["id"])
            status = str(record.get("status", ""))
            if redo_errors and status == "error":
                continue
            self.done.add(item_id)
            self.statuses[item_id] = status
            kept.append(line + b"\n")
            keep_end += len(line) + 1
        if redo_errors:
            self._rewrite(b"".join(kept))
        elif keep_end < len(data):
            with self.path.open("r+b") as f:
                f.truncate(keep_end)
                os.fsync(f.fileno())

    def _rewrite(self, content: bytes) -> None:
        """Replace the file atomically with ``content`` (its lines of failed items left out)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

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
