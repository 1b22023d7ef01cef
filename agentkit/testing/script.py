"""The script format shared by the HTTP simulator and ``ScriptedLLM``: what a scripted Qwen3 answers.

A script is a YAML or JSON file, or a plain dict. Everything is optional except the replies::

    model: qwen3-sim              # served model name (default "qwen3-sim")
    max_model_len: 32768          # context length reported by /v1/models and enforced
    variant: hybrid               # hybrid | thinking-2507 | instruct-2507 | coder (default: from the model name)
    chunk_chars: 4                # streamed chunk size in characters ...
    chunk_seed: 7                 # ... or, with a seed, random sizes 1..chunk_chars
    reasoning_field: reasoning    # or reasoning_content (older vLLM)
    cache_block_size: 1           # prefix-cache granularity in tokens (vLLM uses 16)
    replies:                      # reply i answers the step with i assistant turns since the last user query
      - think: I should look up the weather.
        tool_calls:
          - {name: get_weather, arguments: {city: Paris}}
      - text: It is sunny in Paris.
    conversations:                # optional: several scripted conversations, picked by the last user query
      - match: "(?i)capital"      # a regular expression searched in the last user query
        replies: ["Paris."]
    faults:                       # optional, see agentkit.testing.faults
      - {status: 503, times: 2}

A reply is one of:

- ``{think: ..., text: ..., tool_calls: [{name, arguments}]}`` (all optional): rendered in the variant's
  own format. The think part is produced only when the request thinks; a thinking request with no
  ``think`` gets the empty think block a real Qwen3 writes. ``arguments`` may be a string, sent verbatim
  (handy for malformed JSON).
- ``{raw: ...}``: the exact text the model writes after the prompt.
- a plain string: ``raw`` when it holds Qwen3 markup (``<think>``, ``</think>``, ``<tool_call>``,
  ``<function=``), otherwise the answer ``text``.

Replies are chosen statelessly (retries and concurrent runs are safe): see ``agentkit.testing.replay``.
The full guide is docs/simulator.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.qwen3.template import VARIANTS, detect_variant, tool_format_for
from agentkit.testing.faults import Fault, parse_faults
from agentkit.testing.validation import ScriptError, check_keys

REASONING_FIELDS = ("reasoning", "reasoning_content")
_MARKUP = ("<think>", "</think>", "<tool_call>", "<function=")
_TOP_KEYS = (
    "model",
    "max_model_len",
    "variant",
    "chunk_chars",
    "chunk_seed",
    "reasoning_field",
    "cache_block_size",
    "replies",
    "conversations",
    "faults",
)
_REPLY_KEYS = ("raw", "think", "text", "tool_calls")


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    name: str
    arguments: dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted model turn: either ``raw`` output, or think / text / tool calls to render."""

    raw: str | None = None
    think: str | None = None
    text: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversation:
    replies: tuple[Reply, ...]
    match: re.Pattern[str] | None = None


@dataclass(slots=True)
class Script:
    """A validated script. Build one with ``load_script``."""

    conversations: list[Conversation]
    model: str = "qwen3-sim"
    max_model_len: int = 32768
    variant: str = "hybrid"
    chunk_chars: int = 4
    chunk_seed: int | None = None
    reasoning_field: str = "reasoning"
    cache_block_size: int = 1
    faults: list[Fault] = field(default_factory=list)

    @property
    def tool_format(self) -> str:
        return tool_format_for(self.variant)

    @property
    def can_think(self) -> bool:
        return self.variant in ("hybrid", "thinking-2507")

    def conversation_for(self, query: str | None) -> Conversation | None:
        """The first conversation whose ``match`` finds the query; a conversation without ``match`` matches all."""
        for conv in self.conversations:
            if conv.match is None or (query is not None and conv.match.search(query)):
                return conv
        return None


def load_script(source: Script | dict[str, Any] | list[Any] | str | Path) -> Script:
    """A ``Script`` from a dict, a list of replies, a YAML/JSON file path, or a ``Script`` (returned as is)."""
    if isinstance(source, Script):
        return source
    where = "script"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ScriptError(
                f"script file {str(path)!r} does not exist; pass the path of a YAML or JSON script"
            )
        where = str(path)
        source = _read_file(path)
    if isinstance(source, list):
        source = {"replies": source}
    if not isinstance(source, dict):
        raise ScriptError(
            f"{where}: a script is a mapping with a 'replies' list, got {type(source).__name__}"
        )
    return _build(source, where)


def _read_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScriptError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScriptError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _int(data: dict[str, Any], key: str, default: int | None, where: str, minimum: int) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScriptError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _choice(data: dict[str, Any], key: str, default: str, choices: tuple[str, ...], where: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ScriptError(f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _build(data: dict[str, Any], where: str) -> Script:
    check_keys(data, _TOP_KEYS, where)
    model = data.get("model", "qwen3-sim")
    if not isinstance(model, str) or not model:
        raise ScriptError(f"{where}: model must be a non-empty string (the served model name), got {model!r}")
    conversations = [
        _conversation(conv, f"{where}: conversations[{i}]")
        for i, conv in enumerate(data.get("conversations") or [])
    ]
    if "replies" in data:
        conversations.append(Conversation(replies=_replies(data["replies"], f"{where}: replies")))
    if not conversations:
        raise ScriptError(f"{where}: no replies; add a 'replies' list (or 'conversations' with replies)")
    return Script(
        conversations=conversations,
        model=model,
        max_model_len=_int(data, "max_model_len", 32768, where, 16),
        variant=_choice(data, "variant", detect_variant(model), VARIANTS, where),
        chunk_chars=_int(data, "chunk_chars", 4, where, 1),
        chunk_seed=_int(data, "chunk_seed", None, where, 0),
        reasoning_field=_choice(data, "reasoning_field", "reasoning", REASONING_FIELDS, where),
        cache_block_size=_int(data, "cache_block_size", 1, where, 1),
        faults=parse_faults(data.get("faults") or [], f"{where}: faults"),
    )


def _conversation(conv: Any, where: str) -> Conversation:
    if not isinstance(conv, dict):
        raise ScriptError(f"{where}: a conversation is a mapping with 'match' and 'replies'")
    check_keys(conv, ("match", "replies"), where)
    match = conv.get("match")
    pattern = None
    if match is not None:
        try:
            pattern = re.compile(str(match))
        except re.error as exc:
            raise ScriptError(f"{where}: match {match!r} is not a valid regular expression: {exc}") from None
    if "replies" not in conv:
        raise ScriptError(f"{where}: missing 'replies' list")
    return Conversation(replies=_replies(conv["replies"], f"{where}.replies"), match=pattern)


def _replies(items: Any, where: str) -> tuple[Reply, ...]:
    if not isinstance(items, list):
        raise ScriptError(f"{where}: must be a list of replies (strings or mappings)")
    return tuple(parse_reply(item, f"{where}[{i}]") for i, item in enumerate(items))


def parse_reply(item: Any, where: str = "reply") -> Reply:
    """One reply from its script form (a string or a mapping)."""
    if isinstance(item, Reply):
        return item
    if isinstance(item, str):
        return Reply(raw=item) if any(tag in item for tag in _MARKUP) else Reply(text=item)
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: a reply is a string or a mapping with raw / think / text / tool_calls")
    check_keys(item, _REPLY_KEYS, where)
    for key in ("raw", "think", "text"):
        if key in item and item[key] is not None and not isinstance(item[key], str):
            raise ScriptError(f"{where}: {key} must be a string, got {type(item[key]).__name__}")
    if "raw" in item:
        if len(item) > 1:
            raise ScriptError(
                f"{where}: 'raw' is the whole output; drop {sorted(set(item) - {'raw'})} or drop 'raw'"
            )
        return Reply(raw=item["raw"] or "")
    calls = item.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ScriptError(f"{where}: tool_calls must be a list of {{name, arguments}} mappings")
    return Reply(
        think=item.get("think"),
        text=item.get("text") or "",
        tool_calls=tuple(_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(calls)),
    )


def _call(call: Any, where: str) -> ScriptedCall:
    if not isinstance(call, dict):
        raise ScriptError(f"{where}: a tool call is a mapping with 'name' and 'arguments'")
    check_keys(call, ("name", "arguments"), where)
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise ScriptError(f"{where}: 'name' must be the tool's name (a non-empty string)")
    args = call.get("arguments", {})
    if args is None:
        args = {}
    if not isinstance(args, (dict, str)):
        raise ScriptError(f"{where}: 'arguments' must be a mapping (or a string sent verbatim), got {args!r}")
    return ScriptedCall(name=name, arguments=args)
