"""Response bodies in vLLM's OpenAI-compatible shapes, each labelled as coming from the simulator."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

FINGERPRINT = "agentkit-simulator"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def error_body(message: str, kind: str, code: int, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def model_card(name: str, max_model_len: int, created: int) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": created,
        "owned_by": FINGERPRINT,
        "root": name,
        "parent": None,
        "max_model_len": max_model_len,
        "permission": [],
    }


def usage_body(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }


def _envelope(rid: str, obj: str, model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": rid,
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "system_fingerprint": FINGERPRINT,
    }


def completion(
    rid: str, model: str, text: str, finish: str, stop_reason: str | None, usage: dict[str, Any]
) -> dict[str, Any]:
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "stop_reason": stop_reason}
    return {**_envelope(rid, "text_completion", model, [choice]), "usage": usage}


def completion_chunk(
    rid: str, model: str, text: str, finish: str | None = None, stop_reason: str | None = None
) -> dict[str, Any]:
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "stop_reason": stop_reason}
    return _envelope(rid, "text_completion", model, [choice])


def chat_completion(
    rid: str, model: str, message: dict[str, Any], finish: str, stop_reason: str | None, usage: dict[str, Any]
) -> dict[str, Any]:
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": finish,
        "stop_reason": stop_reason,
    }
    return {**_envelope(rid, "chat.completion", model, [choice]), "usage": usage}


def chat_chunk(
    rid: str, model: str, delta: dict[str, Any], finish: str | None = None, stop_reason: str | None = None
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    if finish is not None:
        choice["stop_reason"] = stop_reason
    return _envelope(rid, "chat.completion.chunk", model, [choice])


def usage_chunk(rid: str, obj: str, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {**_envelope(rid, obj, model, []), "usage": usage}


def sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
