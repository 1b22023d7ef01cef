"""A task's ``tools:`` entries turned into Tool objects and their policies.

An entry is a built-in tool name (the top-level ``tools`` package) or ``module:attribute``, imported
with the task file's folder first on the import path. The attribute may be a ``@tool`` object (any
Tool), a plain function (wrapped as a ``FunctionTool``), or a list of those.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from agentkit.config.errors import TaskError
from agentkit.config.task import TaskConfig, ToolEntry
from agentkit.tooling.base import Tool, ToolContext, ToolResult
from agentkit.tooling.decorator import FunctionTool
from agentkit.tooling.policy import ToolPolicy

_ENTRY_KEYS = ("name", "approval", "thinking", "timeout", "description")
_APPROVALS = ("allow", "ask", "deny")


class _Described:
    """A tool shown to the model with the description the task gives instead of its own."""

    def __init__(self, tool: Tool, description: str):
        self._tool = tool
        self.name = tool.name
        self.description = description
        self.parameters = tool.parameters

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self._tool.call(arguments, ctx)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._tool, attr)


def resolve_tools(task: TaskConfig) -> tuple[list[Tool], dict[str, ToolPolicy]]:
    """The task's tools in order, and a policy for each by name. Raises ``TaskError`` listing every bad entry."""
    tools: list[Tool] = []
    policies: dict[str, ToolPolicy] = {}
    first_seen: dict[str, int] = {}
    problems: list[str] = []
    for index, entry in enumerate(task.tools):
        where = _where(task, ("tools", index))
        try:
            found = _builtin(entry, task) if ":" not in entry.ref else _imported(entry, task)
        except _Problem as exc:
            problems.append(f"{_where(task, ('tools', index, *exc.path))}: {exc}")
            continue
        for tool in found:
            if entry.description is not None:
                tool = _Described(tool, entry.description)
            if tool.name in first_seen:
                other = first_seen[tool.name]
                problems.append(
                    f"{where}: two tools are named {tool.name!r} (the other is tools[{other}] at "
                    f"{_where(task, ('tools', other))}); remove one of the entries"
                )
                continue
            first_seen[tool.name] = index
            tools.append(tool)
            default = getattr(tool, "default_approval", "allow")
            policies[tool.name] = ToolPolicy(
                approval=entry.approval or (default if default in _APPROVALS else "allow"),
                thinking=entry.thinking,
                timeout=entry.timeout,
            )
    if problems:
        raise TaskError(problems)
    return tools, policies


class _Problem(Exception):
    """One bad entry: the message, and the key inside the entry it is about (if any)."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.path = path


def _where(task: TaskConfig, path: tuple[str | int, ...]) -> str:
    where = task.where(*path)
    if where == task.locations.source:
        return f"{where}: " + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return where


def _builtin(entry: ToolEntry, task: TaskConfig) -> list[Tool]:
    import agentkit_tools as builtin_tools

    if entry.ref not in builtin_tools.BUILTIN_TOOLS:
        names = list(builtin_tools.BUILTIN_TOOLS)
        if "." in entry.ref:
            module, _, attr = entry.ref.rpartition(".")
            hint = f" — for a function of yours write {module}:{attr} (module, colon, function)"
        else:
            close = difflib.get_close_matches(entry.ref, names, n=1, cutoff=0.5)
            hint = f" — did you mean {close[0]!r}?" if close else ""
        raise _Problem(
            f"unknown built-in tool {entry.ref!r}{hint} (built-in tools: {', '.join(names)}; your own "
            "functions are written module:function, e.g. mytools:search)"
        )
    try:
        return [builtin_tools.builtin_tool(entry.ref, entry.options, base_dir=task.base_dir)]
    except ImportError as exc:
        raise _Problem(f"built-in tool {entry.ref!r} cannot load: {exc}; install what it needs") from None
    except (ValueError, KeyError, TypeError) as exc:
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        option = next((k for k in entry.options if repr(k) in message), None)
        text = message if message.startswith(entry.ref) else f"tool {entry.ref!r}: {message}"
        raise _Problem(text, (option,) if option else ()) from None


def _imported(entry: ToolEntry, task: TaskConfig) -> list[Tool]:
    module_name, _, attr_path = entry.ref.partition(":")
    if not module_name or not attr_path:
        raise _Problem(f"{entry.ref!r}: write module:function, e.g. mytools:search")
    if entry.options:
        key = next(iter(entry.options))
        raise _Problem(
            f"unknown key {key!r} for {entry.ref}: a tool of your own takes no options; "
            f"known keys: {', '.join(_ENTRY_KEYS)}",
            (key,),
        )
    module = _import(module_name, task.base_dir, entry.ref)
    obj: Any = module
    walked = []
    for attr in attr_path.split("."):
        if not hasattr(obj, attr):
            owner = (
                f"module {module_name!r} ({_file_of(module)})"
                if obj is module
                else f"{module_name}:{'.'.join(walked)}"
            )
            public = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(attr, public, n=1, cutoff=0.6)
            if close:
                hint = f" — did you mean {module_name}:{'.'.join([*walked, close[0]])}?"
            else:
                functions = [  # its own functions, not what it imported
                    n
                    for n in public
                    if inspect.isfunction(getattr(obj, n))
                    and (obj is not module or getattr(obj, n).__module__ == module.__name__)
                ]
                hint = (
                    f"; it defines: {', '.join(functions[:12])}" if functions else "; it defines no functions"
                )
            raise _Problem(f"{owner} has no attribute {attr!r}{hint}")
        obj = getattr(obj, attr)
        walked.append(attr)
    items = obj if isinstance(obj, list | tuple) else [obj]
    return [_as_tool(item, entry.ref) for item in items]


def _as_tool(obj: Any, ref: str) -> Tool:
    if isinstance(obj, Tool) and not inspect.isclass(obj):
        return obj
    if inspect.isclass(obj):
        raise _Problem(
            f"{ref} is a class; point at a function, a @tool-decorated function, or an instance of a tool class"
        )
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        try:
            return FunctionTool(obj)
        except Exception as exc:  # pydantic cannot make a schema from its hints, say
            raise _Problem(
                f"{ref}: cannot build a tool from this function: {exc}; fix its type hints"
            ) from None
    raise _Problem(
        f"{ref} is {type(obj).__name__!r}, not a tool: point at a function, a @tool-decorated function, "
        "or a list of those"
    )


def _import(name: str, base_dir: Path, ref: str) -> ModuleType:
    """Import ``name``, looking in the task folder first; a module found there gets a private name."""
    top, _, rest = name.partition(".")
    folder = str(base_dir)
    local = importlib.machinery.PathFinder.find_spec(top, [folder])
    sys.path.insert(0, folder)
    try:
        if local is None or local.origin is None:
            return importlib.import_module(name)
        alias = f"_agentkit_task_{hashlib.sha1(folder.encode()).hexdigest()[:8]}_{top}"
        if alias not in sys.modules:
            spec = importlib.util.spec_from_file_location(
                alias, local.origin, submodule_search_locations=local.submodule_search_locations
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[alias] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[alias]
                raise
        return importlib.import_module(f"{alias}.{rest}") if rest else sys.modules[alias]
    except ModuleNotFoundError as exc:
        missing = exc.name or name
        if missing.startswith("_agentkit_task_") or missing == name or name.startswith(missing + "."):
            raise _Problem(
                f"cannot import {ref}: no module named {name!r} in the task folder ({folder}) or installed; "
                f"create {name.replace('.', '/')}.py next to the task file, or fix the module name"
            ) from None
        raise _Problem(
            f"cannot import {ref}: module {name!r} imports {missing!r}, which cannot be found; "
            "install it (pip install ...) or fix that import"
        ) from None
    except SyntaxError as exc:
        raise _Problem(f"cannot import {ref}: {exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise _Problem(
            f"cannot import {ref}: importing {name!r} raised {_raised_at(exc)}; fix the module"
        ) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)


def _raised_at(exc: BaseException) -> str:
    """``ValueError: boom (mytools.py:12)``: the exception and the last frame it passed through."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _file_of(module: ModuleType) -> str:
    file = getattr(module, "__file__", None)
    return Path(file).name if file else module.__name__
