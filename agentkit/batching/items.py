"""A batch's input: items read from JSON Lines, CSV (stdlib) or Parquet (pyarrow), each with an id and a prompt.

An item gives its ``id`` (or gets one derived from its content, stably across reruns) and either a ``prompt``
or the fields the task's prompt template names (``prompt: "Summarise {title}: {body}"``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


class BatchInputError(Exception):
    """Items that cannot be run; ``str()`` names the file and line of each problem and the fix."""


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    prompt: str
    where: str
    """``file:line`` (or ``items[i]``) for messages."""


def template_fields(template: str | None) -> list[str]:
    """The ``{field}`` names a prompt template substitutes (``{{`` is a literal brace)."""
    if not template:
        return []
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise BatchInputError(
            f"the task's prompt template is malformed ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None


def derived_id(fields: Mapping[str, Any]) -> str:
    """A stable id from an item's content: the same line gets the same id on every run."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _prompt(fields: Mapping[str, Any], template: str | None, names: list[str], where: str) -> str:
    given = fields.get("prompt")
    if isinstance(given, str) and given:
        return given
    if given is not None and not isinstance(given, str):
        raise BatchInputError(f"{where}: `prompt` must be text, got {type(given).__name__}")
    if not template:
        raise BatchInputError(
            f"{where}: the item has no `prompt` and the task has no prompt template; add a `prompt` field "
            'to each item or a template to the task (prompt: "Summarise {title}: {body}")'
        )
    missing = [n for n in names if n not in fields]
    if missing:
        has = ", ".join(fields) or "no fields"
        raise BatchInputError(
            f"{where}: the task's prompt template needs the field {missing[0]!r}, which this item lacks "
            f"(it has: {has}); add it to the item or change the template"
        )
    try:
        return template.format_map(fields)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise BatchInputError(
            f"{where}: the prompt template cannot be filled from this item: {exc}"
        ) from None


def make_items(records: Iterable[tuple[str, Mapping[str, Any]]], template: str | None) -> list[Item]:
    """Items from ``(where, fields)`` records; every problem is collected (the first 20 are reported)."""
    names = template_fields(template)
    items: list[Item] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    derived_seen: dict[str, int] = {}
    for where, fields in records:
        if not isinstance(fields, Mapping):
            problems.append(f'{where}: an item is a JSON object like {{"id": 1, "prompt": "..."}}')
            continue
        try:
            prompt = _prompt(fields, template, names, where)
        except BatchInputError as exc:
            problems.append(str(exc))
            continue
        raw_id = fields.get("id")
        if raw_id is None or raw_id == "":
            base = derived_id(fields)
            derived_seen[base] = derived_seen.get(base, 0) + 1
            item_id = base if derived_seen[base] == 1 else f"{base}-{derived_seen[base]}"
        else:
            item_id = str(raw_id)
            if item_id in seen:
                problems.append(
                    f"{where}: the id {item_id!r} is already used at {seen[item_id]}; ids must be unique"
                )
                continue
        seen[item_id] = where
        items.append(Item(item_id, prompt, where))
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise BatchInputError("\n".join(problems[:20]) + more)
    return items


def _jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{n}", json.loads(line)
            except ValueError as exc:
                raise BatchInputError(f"{path}:{n}: not a JSON object ({exc}); one object per line") from None


def _json(path: Path) -> Iterator[tuple[str, Any]]:
    """A ``.json`` file: a list of items, or JSON Lines under that name."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        yield from _jsonl(path)
        return
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise BatchInputError(f"{path}: not valid JSON ({exc}); give a list of items or JSON Lines") from None
    for n, value in enumerate(values):
        yield f"{path}:[{n}]", value


def _csv(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield f"{path}:{reader.line_num}", {k: v for k, v in row.items() if k is not None}


def _parquet(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchInputError(
            f"{path}: reading Parquet needs pyarrow: pip install pyarrow (or convert the file to JSON Lines)"
        ) from None
    table = pq.read_table(path)
    for n, row in enumerate(table.to_pylist()):
        yield f"{path}:row {n + 1}", row


def read_items(path: str | Path, template: str | None) -> list[Item]:
    """The items of a ``.jsonl``/``.ndjson``, ``.csv`` or ``.parquet`` file."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BatchInputError(
            f"{path}: unknown item format {path.suffix!r}; use .jsonl (one JSON object per line), .json (a list), "
            ".csv or .parquet"
        )
    if not path.is_file():
        raise BatchInputError(f"{path}: no such file; check the path")
    try:
        reader = {"jsonl": _jsonl, "json": _json, "csv": _csv, "parquet": _parquet}[kind](path)
        return make_items(reader, template)
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def items_from(source: str | Path | Iterable[Any], template: str | None) -> list[Item]:
    """Items from a file path, or from Python values: dicts (fields) or plain prompt strings."""
    if isinstance(source, str | Path):
        return read_items(source, template)
    records = (
        (f"items[{i}]", {"prompt": value} if isinstance(value, str) else value)
        for i, value in enumerate(source)
    )
    return make_items(records, template)
