"""YAML read into plain data plus the line of every key and list item, with ``${VAR}`` expanded.

Under ``mcp_servers`` the IDE variables ``${workspaceFolder}`` and ``${userHome}`` are left for the MCP
config reader (``agentkit.mcp.config``), which fills them in from the task's folder and the home folder.

Locations are keyed by the path into the data (``("tools", 2, "approval")``) so that a validation
error's location maps back to ``file:line:col``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
IDE_VARIABLES = frozenset({"workspaceFolder", "userHome"})
_MCP_KEYS = (
    "mcp_servers",
    "mcpServers",
    "servers",
)  # agentkit.config.task.MCP_KEYS (not imported: cycle-free)
"""Filled in by the MCP config reader, not from the environment (only under ``mcp_servers``)."""
_UNCLOSED = re.compile(r"(?<!\$)\$\{[^}]*$")
"""A ``${`` (not ``$${``) with no ``}`` after it: a variable the user forgot to close."""


@dataclass
class Locations:
    """Where each part of a task came from: a source name and ``path -> (line, col)``, both 1-based."""

    source: str
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_ = ()) -> str:
        """``file:line:col`` of the nearest recorded part of ``path`` (``file`` alone when nothing is)."""
        for end in range(len(path), 0, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return f"{self.source}:{mark[0]}:{mark[1]}"
        return self.source

    def line_of(self, path: Path_) -> int | None:
        mark = self.marks.get(tuple(path))
        return mark[0] if mark else None


class YAMLProblem(Exception):
    """A YAML file that cannot be read into task data; ``str()`` is the full ``file:line: ...`` message."""


def dotted(path: Path_) -> str:
    """``("tools", 2, "approval")`` as ``tools[2].approval``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def expand_env(
    text: str,
    environ: dict[str, str] | os._Environ[str] = os.environ,
    keep: frozenset[str] = frozenset(),
) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; ``$${VAR}`` stays literal as ``${VAR}``, and so do the
    variables named in ``keep``.

    Raises ``KeyError(name)`` for a variable that is unset and has no default.
    """

    def replace(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in keep:
            return match.group(0)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise KeyError(name)
            return default
        return value

    return _VAR.sub(replace, text)


_SYNTAX_HINTS = {
    "mapping values are not allowed": "quote the value if it contains ': ', or fix the indentation",
    "found character '\\t'": "indent with spaces, not tabs",
    "could not find expected ':'": "write each setting as `key: value`",
    "did not find expected key": "align keys of one mapping at the same indentation",
    "did not find expected '-' indicator": "align the items of a list at the same indentation",
    "found undefined alias": "define the anchor (&name) before using it (*name)",
    "expected a single document": "keep one task per file (remove the extra `---`)",
    "found unexpected end of stream": "close the open quote or bracket",
    "while scanning a quoted scalar": "close the open quote",
    "while parsing a flow sequence": "close the list with ] (or quote a value that starts with [)",
    "while parsing a flow mapping": "close the mapping with } (or quote a value that starts with {)",
}


def _syntax_message(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    start = getattr(exc, "context_mark", None)
    if context and start is not None and mark is not None and start.line != mark.line:
        context = f"{context} that starts at line {start.line + 1}"
    text = f"{problem} ({context})" if context else problem
    hint = next(
        (h for key, h in _SYNTAX_HINTS.items() if key in f"{context or ''} {problem}"), "fix the YAML here"
    )
    return f"{where}: YAML syntax error: {text} — {hint}"


class _Builder:
    """Turns composed YAML nodes into Python data, recording marks and expanding variables."""

    def __init__(self, source: str, environ: dict[str, str] | os._Environ[str]):
        self.locations = Locations(source)
        self.environ = environ
        self.constructor = yaml.SafeLoader("")  # its constructor resolves scalars (ints, bools, null...)
        self.problems: list[str] = []

    def mark(self, path: Path_, node: yaml.Node) -> None:
        self.locations.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    at = f"{self.locations.source}:{key_node.start_mark.line + 1}"
                    self.problems.append(f"{at}: a key must be plain text, not a {type(key).__name__}")
                    continue
                if key in out:
                    first = self.locations.line_of((*path, key))
                    self.problems.append(
                        f"{self.locations.source}:{key_node.start_mark.line + 1}: key {key!r} appears twice "
                        f"in one mapping (first at line {first}); keep one of them"
                    )
                self.mark((*path, key), key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.mark((*path, index), item)
                items.append(self.build(item, (*path, index)))
            return items
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, str) and "${" in value:
            unclosed = _UNCLOSED.search(value)
            if unclosed:
                opened = unclosed.group(0)
                self.problems.append(
                    f"{self.locations.source}:{node.start_mark.line + 1}: {opened[:40]!r} opens a variable but "
                    "never closes it; write ${NAME} (or ${NAME:-default}), or $${ for a literal ${"
                )
                return value
            keep = IDE_VARIABLES if path and path[0] in _MCP_KEYS else frozenset()
            try:
                value = expand_env(value, self.environ, keep)
            except KeyError as exc:
                name = exc.args[0]
                hint = f"; ${{{name}}} is filled in only inside mcp_servers" if name in IDE_VARIABLES else ""
                self.problems.append(
                    f"{self.locations.source}:{node.start_mark.line + 1}: environment variable {name!r} is not "
                    f"set; set it (export {name}=...) or give a default: ${{{name}:-value}}{hint}"
                )
        return value


def read_yaml(
    text: str, source: str, environ: dict[str, str] | os._Environ[str] = os.environ
) -> tuple[Any, Locations]:
    """Parse one YAML document into data and locations. Raises ``YAMLProblem`` with every problem found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise YAMLProblem(_syntax_message(source, exc)) from None
    if node is None:
        return None, Locations(source)
    builder = _Builder(source, environ)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:  # a bad tag, say
        raise YAMLProblem(_syntax_message(source, exc)) from None
    if builder.problems:
        raise YAMLProblem("\n".join(builder.problems))
    return data, builder.locations
