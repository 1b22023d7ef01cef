"""Qwen-Agent's message shapes: attribute-readable dicts, its history as OpenAI messages, its file items."""

from __future__ import annotations

import json
from typing import Any

# Qwen-Agent's ``Message`` field order (its dumps and reprs list the fields in this order, None left out)
FIELDS = ("role", "content", "reasoning_content", "name", "function_call", "extra")


class Message(dict):
    """A message dict that also reads as attributes (``msg.content``, ``msg.function_call.name``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            if name in FIELDS:
                return None
            raise AttributeError(name) from None
        return Message(value) if type(value) is dict else value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def model_dump(self, **_: Any) -> dict[str, Any]:
        return dump(self)


class Responses(list):
    """The growing list of response messages. String keys read the latest message: ``responses['content']``."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self[-1][key] if self else ("" if key == "content" else None)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[-1].get(key, default) if self else default


def plain(obj: Any) -> Any:
    """Qwen-Agent objects (pydantic ``Message``, ``ContentItem``, ``FunctionCall``) as plain data."""
    if hasattr(obj, "model_dump"):
        return plain(obj.model_dump())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def dump(message: dict[str, Any]) -> dict[str, Any]:
    """A message in Qwen-Agent's dump order, without None fields."""
    ordered = {k: message[k] for k in FIELDS if message.get(k) is not None}
    ordered.update({k: v for k, v in message.items() if k not in FIELDS and v is not None})
    return ordered


def text_of(content: Any) -> str:
    """Qwen-Agent content (a string or a list of ``{text: ...}`` items) as text."""
    if content is None or isinstance(content, str):
        return content or ""
    return "\n".join(item["text"] for item in plain(content) if isinstance(item, dict) and item.get("text"))


def files_of(messages: list[Any]) -> list[str]:
    """The ``{'file': path}`` items of user messages, in order, each once."""
    found: list[str] = []
    for raw in messages:
        m = plain(raw)
        if m.get("role") != "user" or not isinstance(m.get("content"), list):
            continue
        for item in m["content"]:
            path = item.get("file") if isinstance(item, dict) else None
            if path and path not in found:
                found.append(path)
    return found


def to_openai_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Qwen-Agent or OpenAI messages (dicts or Qwen-Agent ``Message`` objects) as OpenAI-format dicts.

    Qwen-Agent splits one turn into a reasoning message, a text message and one message per call; they
    are joined back into the one assistant turn the model wrote."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []
    for raw in messages:
        m = plain(raw)
        role = m.get("role")
        open_turn = out[-1] if out and out[-1]["role"] == "assistant" and not pending else None
        if role == "assistant" and m.get("function_call"):
            fc = m["function_call"]
            call_id = (m.get("extra") or {}).get("function_id") or f"call_{len(out)}"
            args = fc.get("arguments")
            call = {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": fc.get("name"),
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            last = out[-1] if out and out[-1]["role"] == "assistant" else None
            if last is not None and (last.get("tool_calls") is not None or not pending):
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": text_of(m.get("content")), "tool_calls": [call]})
            pending.append(call_id)
        elif role in ("function", "tool"):
            call_id = (
                m.get("tool_call_id")
                or (m.get("extra") or {}).get("function_id")
                or (pending[0] if pending else "")
            )
            if call_id in pending:
                pending.remove(call_id)
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "name": m.get("name") or "",
                    "content": text_of(m.get("content")),
                }
            )
        elif role == "assistant" and open_turn is not None and "tool_calls" not in open_turn:
            # the text (or reasoning) part of a turn Qwen-Agent split into several messages
            if m.get("reasoning_content"):
                open_turn["reasoning_content"] = (
                    open_turn.get("reasoning_content", "") + m["reasoning_content"]
                )
            open_turn["content"] = open_turn.get("content", "") + text_of(m.get("content"))
        else:
            entry = {
                k: v
                for k, v in m.items()
                if k in ("role", "content", "reasoning_content", "tool_calls", "name") and v is not None
            }
            if role == "assistant":
                entry.pop("name", None)  # Qwen-Agent's agent name, not part of the model's turn
            entry["content"] = text_of(m.get("content"))
            out.append(entry)
            pending = []
    return out
