"""Errors for bad scripts and fault rules, each naming the problem and the fix."""

from __future__ import annotations

import difflib
from typing import Any


class ScriptError(ValueError):
    """A script or fault rule that cannot be used; the message names the problem and the fix."""


def check_keys(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Reject unknown keys, suggesting the closest allowed one."""
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
            raise ScriptError(f"{where}: unknown key {key!r}{hint}")
