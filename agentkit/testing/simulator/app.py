"""The simulator's ASGI app: vLLM's OpenAI-compatible endpoints answering from a script, plus ``/_sim/*``."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentkit.qwen3.parser import OutputParser, parse_output
from agentkit.qwen3.tokens import count_tokens
from agentkit.qwen3.types import (
    ContentDelta,
    ParsedOutput,
    ParseEvent,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)
from agentkit.testing import replay
from agentkit.testing.faults import AppliedFaults, FaultPlan, parse_faults
from agentkit.testing.script import Script
from agentkit.testing.simulator import continuation, shapes
from agentkit.testing.simulator.generation import Generation, PrefixCache, generate, split_chunks
from agentkit.testing.simulator.plain import PlainTextParser, parse_plain
from agentkit.testing.validation import ScriptError

LABEL_HEADER = (b"x-agentkit-simulator", b"scripted replay, not a model")


class SimulatorState:
    """Everything one simulator instance holds: its script, live faults, recorded requests, prefix cache."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.created = int(time.time())
        self.faults = FaultPlan(script.faults)
        self.requests: list[dict[str, Any]] = []
        self.cache = PrefixCache(script.cache_block_size)
        self.in_flight = 0
        self.max_in_flight = 0

    def set_faults(self, spec: Any) -> None:
        """Replace the live fault rules (script form: a list of rules)."""
        self.faults = FaultPlan(parse_faults(spec))

    def reset(self) -> None:
        """Forget recorded requests and the prefix cache; re-arm the script's own faults."""
        self.requests.clear()
        self.cache.clear()
        self.faults = FaultPlan(self.script.faults)
        self.max_in_flight = self.in_flight


class _ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "BadRequestError", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param


def _error(
    status: int, message: str, kind: str, param: str | None = None, headers: dict | None = None
) -> Response:
    return JSONResponse(shapes.error_body(message, kind, status, param), status_code=status, headers=headers)


class _RawStream:
    """A response sent part by part; ``None`` from ``parts`` drops the connection before the body ends."""

    def __init__(self, parts: AsyncIterator[bytes | None], media_type: str, length: int | None = None):
        self.parts, self.media_type, self.length = parts, media_type, length

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", self.media_type.encode()), (b"cache-control", b"no-cache")]
        if self.length is not None:
            headers.append((b"content-length", str(self.length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for part in self.parts:
            if part is None:
                return
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass(slots=True)
class _Served:
    """One request's generation, ready to be sent whole or streamed."""

    rid: str
    prompt_tokens: int
    cached_tokens: int
    gen: Generation
    faults: AppliedFaults

    def usage(self) -> dict[str, Any]:
        return shapes.usage_body(self.prompt_tokens, self.gen.completion_tokens, self.cached_tokens)


def build_app(state: SimulatorState) -> Any:
    """The ASGI app for ``state`` (every response carries a header naming the simulator)."""
    script = state.script

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def models(request: Request) -> Response:
        card = shapes.model_card(script.model, script.max_model_len, state.created)
        return JSONResponse({"object": "list", "data": [card]})

    async def sim_requests(request: Request) -> Response:
        return JSONResponse({"requests": state.requests})

    async def sim_faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                state.set_faults(await request.json())
            except (ScriptError, json.JSONDecodeError) as exc:
                return _error(400, f"bad fault rules: {exc}", "BadRequestError")
        return JSONResponse({"faults": state.faults.remaining()})

    async def sim_in_flight(request: Request) -> Response:
        return JSONResponse({"in_flight": state.in_flight, "max_in_flight": state.max_in_flight})

    async def sim_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def completions(request: Request) -> Any:
        return await _endpoint(request, _completion)

    async def chat_completions(request: Request) -> Any:
        return await _endpoint(request, _chat)

    async def _endpoint(request: Request, handler: Any) -> Any:
        try:
            body = await request.json()
        except json.JSONDecodeError as exc:
            return _error(400, f"the request body is not valid JSON: {exc}", "BadRequestError")
        path = request.url.path
        record = {"method": request.method, "path": path, "body": body, "time": time.time()}
        state.requests.append(record)
        response = await _answer(body, path, handler, record)
        record["status"] = getattr(response, "status_code", 200)
        return response

    async def _answer(body: Any, path: str, handler: Any, record: dict[str, Any]) -> Any:
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object", "BadRequestError")
        faults = state.faults.take(path)
        if faults.first_byte_delay_s:
            await anyio.sleep(faults.first_byte_delay_s)
        if faults.status is not None:
            return _fault_status(faults)
        model = body.get("model")
        if model is not None and model != script.model:
            return _error(404, f"The model `{model}` does not exist.", "NotFoundError", "model")
        try:
            return await handler(body, faults, record)
        except _ApiError as exc:
            return _error(exc.status, exc.message, exc.kind, exc.param)

    def _serve(
        prompt: str,
        output: str,
        body: dict[str, Any],
        faults: AppliedFaults,
        record: dict[str, Any],
        prefix: str,
    ) -> _Served:
        n_prompt = count_tokens(prompt)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        _check_context(n_prompt, max_tokens, script.max_model_len)
        limit = script.max_model_len - n_prompt if max_tokens is None else max_tokens
        if faults.length_after_tokens is not None:
            limit = min(limit, faults.length_after_tokens)
        stop = body.get("stop") or []
        gen = generate(
            output,
            max_tokens=limit,
            stop=[stop] if isinstance(stop, str) else list(stop),
            skip_special_tokens=body.get("skip_special_tokens", True),
            include_stop_str_in_output=bool(body.get("include_stop_str_in_output", False)),
        )
        cached = state.cache.lookup(prompt, n_prompt)
        state.cache.add(prompt + gen.text)
        served = _Served(shapes.new_id(prefix), n_prompt, cached, gen, faults)
        record["usage"] = served.usage()
        return served

    async def _completion(body: dict[str, Any], faults: AppliedFaults, record: dict[str, Any]) -> Any:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise _ApiError(
                400, "prompt must be a string (token-id prompts are not simulated)", param="prompt"
            )
        if body.get("n", 1) != 1:
            raise _ApiError(400, "n must be 1: the simulator serves one scripted choice", param="n")
        query, step, partial = replay.locate_in_prompt(prompt)
        output = replay.output_for(replay.pick_reply(script, query, step), script.variant, partial)
        served = _serve(prompt, output, body, faults, record, "cmpl")
        if body.get("stream"):
            return _RawStream(_completion_events(served, _include_usage(body)), "text/event-stream")
        g = served.gen
        payload = shapes.completion(
            served.rid, script.model, g.text, g.finish_reason, g.stop_reason, served.usage()
        )
        return _json_or_cut(payload, faults)

    async def _completion_events(served: _Served, include_usage: bool) -> AsyncIterator[bytes | None]:
        rid, g = served.rid, served.gen
        async for piece in _paced_chunks(g.text, served.faults):
            if piece is None:
                yield None
                return
            yield shapes.sse(shapes.completion_chunk(rid, script.model, piece))
        yield shapes.sse(shapes.completion_chunk(rid, script.model, "", g.finish_reason, g.stop_reason))
        if include_usage:
            yield shapes.sse(shapes.usage_chunk(rid, "text_completion", script.model, served.usage()))
        yield shapes.sse("[DONE]")

    async def _chat(body: dict[str, Any], faults: AppliedFaults, record: dict[str, Any]) -> Any:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _ApiError(400, "messages must be a non-empty list of chat messages", param="messages")
        tools = body.get("tools") or None
        kwargs = body.get("chat_template_kwargs") or {}
        try:
            prompt, continuing = continuation.chat_prompt(
                messages, tools, body, thinking=kwargs.get("enable_thinking", True), variant=script.variant
            )
        except continuation.ContinuationError as exc:
            raise _ApiError(400, str(exc)) from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _ApiError(400, f"cannot render these messages with the chat template: {exc}") from None
        query, step = replay.locate_in_messages(messages)
        partial = replay.locate_in_prompt(prompt)[2]
        thinking = replay.prompt_thinks(script.variant, partial)
        if continuing:  # the final assistant message is the turn being written, not a finished one
            step -= 1
            thinking = thinking and "</think>" not in partial
        output = replay.output_for(replay.pick_reply(script, query, step), script.variant, partial)
        served = _serve(prompt, output, body, faults, record, "chatcmpl")
        parse_tools = tools is not None and body.get("tool_choice") != "none"  # vLLM parses calls only then
        if body.get("stream"):
            parser: Any = (
                OutputParser(tools=tools, tool_format=script.tool_format, thinking=thinking)
                if parse_tools
                else PlainTextParser(thinking)
            )
            return _RawStream(_chat_events(served, parser, _include_usage(body)), "text/event-stream")
        g = served.gen
        if parse_tools:
            parsed = parse_output(g.text, tools=tools, tool_format=script.tool_format, thinking=thinking)
            message = _message(parsed, script.reasoning_field)
        else:
            reasoning, content = parse_plain(g.text, thinking)
            message = {
                "role": "assistant",
                "content": content or None,
                script.reasoning_field: reasoning or None,
                "tool_calls": [],
            }
        finish = "tool_calls" if message["tool_calls"] and g.finish_reason == "stop" else g.finish_reason
        payload = shapes.chat_completion(
            served.rid, script.model, message, finish, g.stop_reason, served.usage()
        )
        return _json_or_cut(payload, faults)

    async def _chat_events(served: _Served, parser: Any, include_usage: bool) -> AsyncIterator[bytes | None]:
        rid, g = served.rid, served.gen
        deltas = _ChatDeltas(script.reasoning_field, coder=script.tool_format == "xml")
        yield shapes.sse(shapes.chat_chunk(rid, script.model, {"role": "assistant", "content": ""}))
        async for piece in _paced_chunks(g.text, served.faults):
            if piece is None:
                yield None
                return
            for delta in deltas.convert(parser.feed(piece)):
                yield shapes.sse(shapes.chat_chunk(rid, script.model, delta))
        for delta in deltas.convert(parser.close()):
            yield shapes.sse(shapes.chat_chunk(rid, script.model, delta))
        finish = "tool_calls" if deltas.called and g.finish_reason == "stop" else g.finish_reason
        yield shapes.sse(shapes.chat_chunk(rid, script.model, {}, finish, g.stop_reason))
        if include_usage:
            yield shapes.sse(shapes.usage_chunk(rid, "chat.completion.chunk", script.model, served.usage()))
        yield shapes.sse("[DONE]")

    async def _paced_chunks(text: str, faults: AppliedFaults) -> AsyncIterator[str | None]:
        """The output in stream chunks, paced by ``chunk_delay_s``; ``None`` marks a cut connection."""
        sent = 0
        for i, piece in enumerate(split_chunks(text, script.chunk_chars, script.chunk_seed)):
            if i and faults.chunk_delay_s:
                await anyio.sleep(faults.chunk_delay_s)
            if faults.cut_after_chars is not None and sent + len(piece) > faults.cut_after_chars:
                if faults.cut_after_chars > sent:
                    yield piece[: faults.cut_after_chars - sent]
                yield None
                return
            sent += len(piece)
            yield piece
        if faults.cut_after_chars is not None and faults.cut_after_chars >= sent:
            yield None

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/_sim/requests", sim_requests, methods=["GET"]),
        Route("/_sim/faults", sim_faults, methods=["GET", "POST"]),
        Route("/_sim/reset", sim_reset, methods=["POST"]),
        Route("/_sim/in_flight", sim_in_flight, methods=["GET"]),
    ]
    return _labelled(Starlette(routes=routes), state)


_GENERATION_PATHS = ("/v1/completions", "/v1/chat/completions")


def _labelled(app: Any, state: SimulatorState) -> Any:
    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def labelled_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), LABEL_HEADER]}
            await send(message)

        counted = scope["path"] in _GENERATION_PATHS  # in flight until the last byte of its stream
        state.in_flight += counted
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await app(scope, receive, labelled_send)
        finally:
            state.in_flight -= counted

    return wrapper


def _fault_status(faults: AppliedFaults) -> Response:
    status = faults.status or 503
    retry = faults.retry_after if faults.retry_after is not None else (0.0 if status == 429 else None)
    headers = {"Retry-After": f"{retry:g}"} if retry is not None else None
    kinds = {429: "RateLimitError", 503: "ServiceUnavailableError"}
    message = f"simulated fault: HTTP {status} injected by the agentkit simulator's fault rules"
    return _error(status, message, kinds.get(status, "InternalServerError"), headers=headers)


def _check_context(n_prompt: int, max_tokens: Any, max_model_len: int) -> None:
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _ApiError(400, f"max_tokens must be a positive integer, got {max_tokens!r}", param="max_tokens")
    if n_prompt >= max_model_len:
        raise _ApiError(
            400,
            f"This model's maximum context length is {max_model_len} tokens. However, your request has "
            f"{n_prompt} input tokens. Please reduce the length of the input messages.",
        )
    if max_tokens is not None and n_prompt + max_tokens > max_model_len:
        raise _ApiError(
            400,
            f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's maximum context "
            f"length is {max_model_len} tokens and your request has {n_prompt} input tokens "
            f"({max_tokens} > {max_model_len} - {n_prompt}).",
            param="max_tokens",
        )


def _include_usage(body: dict[str, Any]) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def _json_or_cut(payload: dict[str, Any], faults: AppliedFaults) -> Any:
    data = json.dumps(payload, ensure_ascii=False).encode()
    if faults.cut_after_chars is None:
        return Response(data, media_type="application/json")

    async def parts() -> AsyncIterator[bytes | None]:
        yield data[: min(faults.cut_after_chars, len(data) - 1)]
        yield None

    return _RawStream(parts(), "application/json", length=len(data))


def _served_calls(parsed: ParsedOutput) -> tuple[list[dict[str, Any]], str]:
    """Tool calls as a vLLM hermes parser returns them (names it cannot check are kept), and the raw text
    of calls without a readable name, which such a parser leaves in the content."""
    calls, leftover = [], ""
    for call in parsed.all_calls():
        if call.name:
            calls.append(call.to_openai())
        else:
            leftover += call.raw
    return calls, leftover


def _message(parsed: ParsedOutput, reasoning_field: str) -> dict[str, Any]:
    calls, leftover = _served_calls(parsed)
    content = (parsed.content or "") + leftover
    return {
        "role": "assistant",
        "content": content or None,
        reasoning_field: parsed.reasoning_content,
        "tool_calls": calls,
    }


class _ChatDeltas:
    """Parse events → vLLM chat-stream deltas (reasoning, content, tool calls by index)."""

    def __init__(self, reasoning_field: str, coder: bool = False) -> None:
        self.reasoning_field = reasoning_field
        self.coder = coder  # vLLM's qwen3_coder parser sends the call header with "arguments": ""
        self.index: dict[int, int] = {}
        self.args_sent: set[int] = set()
        self.called = False

    def _start(self, index: int, call_id: str, name: str) -> dict[str, Any]:
        self.index[index] = len(self.index)
        self.called = True
        function = {"name": name, "arguments": ""} if self.coder else {"name": name}
        entry = {"index": self.index[index], "id": call_id, "type": "function", "function": function}
        return {"tool_calls": [entry]}

    def _args(self, index: int, text: str) -> dict[str, Any]:
        self.args_sent.add(index)
        return {"tool_calls": [{"index": self.index[index], "function": {"arguments": text}}]}

    def convert(self, events: list[ParseEvent]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, ReasoningDelta):
                out.append({self.reasoning_field: event.text})
            elif isinstance(event, ContentDelta):
                out.append({"content": event.text})
            elif isinstance(event, ToolCallStarted):
                out.append(self._start(event.index, event.id, event.name))
            elif isinstance(event, ToolCallArgsDelta):
                out.append(self._args(event.index, event.text))
            elif isinstance(event, (ToolCallComplete, ToolCallInvalid)):
                call = event.call
                raw = (
                    call.raw
                    if isinstance(event, ToolCallInvalid)
                    else call.to_openai()["function"]["arguments"]
                )
                if not call.name:
                    out.append({"content": raw})
                    continue
                if call.index not in self.index:
                    out.append(self._start(call.index, call.id, call.name))
                if call.index not in self.args_sent:
                    out.append(self._args(call.index, raw))
        return out
