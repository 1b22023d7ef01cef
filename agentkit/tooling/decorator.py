"""``@tool``: a plain Python function becomes a Tool, its JSON schema built from type hints and docstring."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any, get_type_hints

import pydantic

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit.tooling.schema import inline_refs, strip_titles
from agentkit.tooling.threads import run_blocking

_PARAM_LINE = re.compile(r"^\s*[:@]?(?:param\s+)?(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Summary and per-argument descriptions from a Google-, Sphinx- or NumPy-light docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    in_args = False
    for line in lines:
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:", "params:"):
            in_args = True
            continue
        if stripped.lower() in ("returns:", "raises:", "yields:", "examples:", "example:"):
            in_args = False
            continue
        match = _PARAM_LINE.match(line) if (in_args or stripped.startswith(":param")) else None
        if match:
            params[match.group(1)] = match.group(2).strip()
        elif not in_args and not params and not stripped.startswith(":"):
            summary.append(stripped)
    return " ".join(s for s in summary if s).strip(), params


class FunctionTool:
    """A Tool wrapping a Python function (sync or async), with pydantic argument validation."""

    def __init__(self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None):
        self.func = func
        self.name = name or func.__name__
        summary, param_docs = _split_docstring(func.__doc__ or "")
        self.description = description if description is not None else summary
        signature = inspect.signature(func)
        hints = get_type_hints(func)
        self._context_param: str | None = None
        fields: dict[str, Any] = {}
        for pname, param in signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = hints.get(pname, Any)
            if annotation is ToolContext:
                self._context_param = pname
                continue
            default = param.default if param.default is not param.empty else ...
            fields[pname] = (annotation, pydantic.Field(default, description=param_docs.get(pname)))
        self._model = pydantic.create_model(f"{self.name}_args", **fields)  # type: ignore[call-overload]
        schema = strip_titles(inline_refs(self._model.model_json_schema()))
        schema.setdefault("properties", {})
        schema.setdefault("required", [])
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": schema["properties"],
            "required": schema["required"],
        }
        self._is_async = inspect.iscoroutinefunction(func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            validated = self._model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            return ToolResult.error(f"Invalid arguments for {self.name}: {problems}")
        kwargs = {k: getattr(validated, k) for k in type(validated).model_fields}
        if self._context_param:
            kwargs[self._context_param] = ctx
        if self._is_async:
            value = await self.func(**kwargs)
        else:
            value = await run_blocking(lambda: self.func(**kwargs))
        return to_tool_result(value)


def to_tool_result(value: Any) -> ToolResult:
    """Turn what a function returned into a ToolResult (strings as is, other values as JSON)."""
    if isinstance(value, ToolResult):
        return value
    if isinstance(value, str):
        return ToolResult(text=value)
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")
    try:
        return ToolResult(text=json.dumps(value, ensure_ascii=False, default=str), structured=value)
    except (TypeError, ValueError):
        return ToolResult(text=str(value))


def tool(
    func: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """Decorate a function to make it a tool: ``@tool`` or ``@tool(name=..., description=...)``."""
    if func is None:
        return lambda f: FunctionTool(f, name=name, description=description)
    return FunctionTool(func, name=name, description=description)
