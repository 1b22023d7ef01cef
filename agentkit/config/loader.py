"""Load a task from a YAML file or a dict into a validated ``TaskConfig``; every problem becomes a ``TaskError``."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import pydantic

from agentkit.config.errors import TaskError
from agentkit.config.task import MCP_KEYS, BatchConfig, ModelConfig, TaskConfig
from agentkit.config.yaml_source import Locations, Path_, YAMLProblem, dotted, read_yaml

TASK_FILE_NAMES = ("task.yaml", "task.yml")
_FIELD_ALIASES: dict[str, tuple[str, ...]] = {"mcp_servers": MCP_KEYS, "ref": ("name", "use", "ref")}
_SCOPES: dict[Path_, tuple[str, type[pydantic.BaseModel]]] = {
    (): ("the task", TaskConfig),
    ("model",): ("model", ModelConfig),
    ("batch",): ("batch", BatchConfig),
}
_KIND = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "dict_type": "expected a mapping (indented `key: value` lines)",
    "model_type": "expected a mapping (indented `key: value` lines)",
    "model_attributes_type": "expected a mapping (indented `key: value` lines)",
    "list_type": "expected a list (lines starting with '- ')",
}


def load_task(path: str | Path) -> TaskConfig:
    """Read and validate a task file (or the ``task.yaml`` in a folder). Raises ``TaskError``."""
    path = Path(path)
    shown = str(path)
    if path.is_dir():
        found = next((path / n for n in TASK_FILE_NAMES if (path / n).is_file()), None)
        if found is None:
            raise TaskError(f"{shown}: is a folder without a task.yaml; give the path of a task file")
        path, shown = found, str(found)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(
            f"{shown}: no such file; check the path (relative paths start at {Path.cwd()})"
        ) from None
    except UnicodeDecodeError as exc:
        raise TaskError(
            f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise TaskError(f"{shown}: cannot be read: {exc.strerror or exc}") from None
    try:
        data, locations = read_yaml(text, shown)
    except YAMLProblem as exc:
        raise TaskError(str(exc).splitlines()) from None
    if data is None:
        raise TaskError(
            f"{shown}: the file is empty; a task needs at least a prompt and usually a model, e.g.\n"
            "  model: {endpoint: http://localhost:8000/v1}\n  prompt: What is the weather in Paris?"
        )
    return _validate(data, path.resolve().parent, locations)


def load_task_dict(data: dict[str, Any], base_dir: str | Path, source: str = "<config>") -> TaskConfig:
    """Validate a task given as a dict (the Assistant's path). Raises ``TaskError`` naming ``source``."""
    return _validate(data, Path(base_dir).resolve(), Locations(source))


def _validate(data: Any, base_dir: Path, locations: Locations) -> TaskConfig:
    if not isinstance(data, dict):
        raise TaskError(
            f"{locations.where(())}: a task is a mapping of settings (model:, prompt:, tools: ...), "
            f"not {_a(data)}"
        )
    if "base_dir" in data:
        raise TaskError(
            f"{_at(locations, ('base_dir',))}: `base_dir` is set by agentkit (the task file's folder); remove it"
        )
    try:
        task = TaskConfig.model_validate({**data, "base_dir": base_dir})
    except pydantic.ValidationError as exc:
        found = [_problem(err, data, locations) for err in exc.errors()]
        raise TaskError([text for _, text in sorted(found, key=lambda item: item[0])]) from None
    task._locations = locations
    if task.simulation and not (base_dir / task.simulation).is_file():
        raise TaskError(
            f"{_at(locations, ('simulation',))}: simulation script {task.simulation!r} not found in {base_dir}; "
            "fix the path (relative to the task file) or remove the key"
        )
    if task.simulation:
        _check_script(base_dir / task.simulation, locations)
    if task.thinking_budget is not None and task.model.mode == "server":
        raise TaskError(
            f"{_at(locations, ('thinking_budget',))}: `thinking_budget` needs `model.mode: native` (agentkit "
            "stops the reasoning and continues the turn itself; in server mode the server renders and "
            "generates the whole turn). Remove thinking_budget or use mode: native"
        )
    _resolve_model_path(task)
    _parse_mcp_servers(task, data)
    return task


def _check_script(path: Path, locations: Locations) -> None:
    """A broken simulation script is a mistake in the task, found now, not when the simulation starts."""
    from agentkit.testing.script import load_script
    from agentkit.testing.validation import ScriptError

    try:
        load_script(path)
    except ScriptError as exc:
        raise TaskError(f"{_at(locations, ('simulation',))}: simulation script: {exc}") from None


def _resolve_model_path(task: TaskConfig) -> None:
    """A relative ``model.path`` that exists next to the task file is taken from there."""
    if task.model.path:
        given = Path(task.model.path).expanduser()
        candidate = given if given.is_absolute() else task.base_dir / given
        if candidate.exists():
            task.model.path = str(candidate)


def _parse_mcp_servers(task: TaskConfig, data: dict[str, Any]) -> None:
    if not task.mcp_servers:
        return
    from agentkit.mcp.config import parse_servers

    key = next(k for k in MCP_KEYS if k in data)
    raw = data[key]
    try:
        task.mcp_servers = parse_servers(raw, base_dir=task.base_dir)
    except ValueError as exc:
        message = str(exc)
        inner = next((raw[k] for k in MCP_KEYS if isinstance(raw.get(k), dict)), raw)
        prefix: Path_ = (key, *(k for k in MCP_KEYS if k in raw and raw[k] is inner))
        named = next((name for name in inner if f"{name!r}" in message), None)
        path = (*prefix, named) if named is not None else (key,)
        raise TaskError(f"{_at(task.locations, path)}: {message}") from None


def _at(locations: Locations, path: Path_) -> str:
    """``file:line:col`` for a path; ``<config>: tools[1]`` when there are no lines."""
    where = locations.where(path)
    return f"{where}: {dotted(path)}" if where == locations.source and path else where


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """A pydantic error location mapped onto the keys the user actually wrote."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
            continue
        if isinstance(node, dict):
            key = (
                part
                if part in node
                else next((a for a in _FIELD_ALIASES.get(str(part), ()) if a in node), None)
            )
            if key is not None:
                path.append(key)
                node = node[key]
                continue
        if (
            isinstance(part, str)
            and part not in ("str", "dict")
            and not part.startswith(("function-", "literal["))
        ):
            path.append(part)
        break
    return tuple(path)


def _problem(err: Any, data: Any, locations: Locations) -> tuple[int, str]:
    """The message for one validation error, with its line for ordering."""
    path = _data_path(tuple(err["loc"]), data)
    line = next((n for end in range(len(path), 0, -1) if (n := locations.line_of(path[:end]))), 0)
    return line, _describe(err, path, locations)


def _describe(err: Any, path: Path_, locations: Locations) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return f"{locations.where(path)}: {_unknown_key(path)}"
    where = locations.where(path)
    label = f"`{dotted(path)}`: " if path else ""
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {label}{str(err['msg']).removeprefix('Value error, ')}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        text = f"expected one of {', '.join(options)}, got {value!r}"
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        return f"{where}: {label}{text}" + (f" — did you mean {close[0]!r}?" if close else "")
    expected = _KIND.get(kind) or str(err["msg"]).replace("Input should", "should")
    got = "" if isinstance(value, dict | list) else f", got {value!r}"
    return f"{where}: {label}{expected}{got}"


def _unknown_key(path: Path_) -> str:
    parent, key = path[:-1], str(path[-1])
    scope, model = _SCOPES.get(parent, (dotted(parent), None))
    if model is None:
        return f"unknown key {key!r} in {scope}; remove it"
    known = list(dict.fromkeys([*model.model_fields, *(MCP_KEYS if model is TaskConfig else ())]))
    known = [k for k in known if k != "base_dir"]
    if model is TaskConfig and key in ModelConfig.model_fields:
        return f"unknown key {key!r} in the task — it belongs under `model:` (model.{key})"
    if model is ModelConfig and key in TaskConfig.model_fields:
        return f"unknown key {key!r} in model — it belongs at the top level of the task, not under `model:`"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" — did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
    return f"unknown key {key!r} in {scope}{hint}"


def _a(value: Any) -> str:
    return {list: "a list", str: "a single text", int: "a number", float: "a number"}.get(
        type(value), f"a {type(value).__name__}"
    )
