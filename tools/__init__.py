"""agentkit's built-in tools: ``web_search``, ``fetch``, ``python`` and ``files``.

``builtin_tool(name, options, base_dir=...)`` builds one from a task's per-tool options. Importing this
package is cheap: each tool's module (and its libraries) loads only when that tool is built or called.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.tooling.base import Tool

BUILTIN_TOOLS: dict[str, str] = {
    "web_search": "agentkit_tools.web_search:make_web_search",
    "fetch": "agentkit_tools.fetch:make_fetch",
    "python": "agentkit_tools.python_exec:make_python",
    "files": "agentkit_tools.files:make_files",
}
"""Built-in tool name -> ``module:factory``; each factory takes ``(options, *, base_dir)``."""


def builtin_tool(name: str, options: dict[str, Any] | None = None, *, base_dir: Path | str = ".") -> Tool:
    """The built-in tool ``name`` configured with ``options``; ``ValueError`` for an unknown name or option."""
    if name not in BUILTIN_TOOLS:
        close = difflib.get_close_matches(name, list(BUILTIN_TOOLS), n=1, cutoff=0.5)
        hint = f" — did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown built-in tool {name!r}{hint} (built-in tools: {', '.join(BUILTIN_TOOLS)})")
    module_name, _, factory = BUILTIN_TOOLS[name].partition(":")
    make = getattr(importlib.import_module(module_name), factory)
    return make(dict(options or {}), base_dir=Path(base_dir))


__all__ = ["BUILTIN_TOOLS", "builtin_tool"]
