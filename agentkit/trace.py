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
