"""``Assistant``: the agent embedded in an app; async-first, and a drop-in for Qwen-Agent's ``Assistant``.

Qwen-Agent apps switch by changing the import: same constructor (``llm`` dict, ``function_list``,
``system_message``), ``run(messages)`` yields the growing list of response messages (Qwen-Agent style:
``function_call`` on assistant turns, ``role: function`` results), ``run_nonstream`` returns it. Each
yielded list also reads like its latest message (``response['content']``), for apps written that way.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

from agentkit.agent.events import StepStarted, ToolFinished, ToolRunning
from agentkit.llm.types import StreamRestarted
from agentkit.qwen3.types import ContentDelta, ReasoningDelta


class Message(dict):
    """A message dict that also reads as attributes (``msg.content``), like Qwen-Agent's ``Message``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name in ("content", "reasoning_content", "name", "function_call", "extra"):
                return None
            raise AttributeError(name) from None


class Responses(list):
    """The growing list of response messages. String keys read the latest message: ``responses['content']``."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self[-1][key] if self else ("" if key == "content" else None)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[-1].get(key, default) if self else default


def _text(content: Any) -> str:
    """Qwen-Agent content (a string or a list of ``{text: ...}`` items) as text."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for item in content:
        item = item.model_dump() if hasattr(item, "model_dump") else item
        if isinstance(item, dict) and item.get("text"):
            parts.append(item["text"])
    return "\n".join(parts)


def to_openai_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Qwen-Agent or OpenAI messages (dicts or Qwen-Agent ``Message`` objects) as OpenAI-format dicts."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []
    for raw in messages:
        m = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
        role = m.get("role")
        if role == "assistant" and m.get("function_call"):
            fc = m["function_call"]
            fc = fc.model_dump() if hasattr(fc, "model_dump") else fc
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
            if (
                out
                and out[-1]["role"] == "assistant"
                and out[-1].get("tool_calls") is not None
                and not pending
            ):
                out[-1]["tool_calls"].append(call)
            else:
                entry: dict[str, Any] = {
                    "role": "assistant",
                    "content": _text(m.get("content")),
                    "tool_calls": [call],
                }
                if m.get("reasoning_content"):
                    entry["reasoning_content"] = m["reasoning_content"]
                out.append(entry)
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
                    "content": _text(m.get("content")),
                }
            )
        else:
            entry = {
                k: v
                for k, v in m.items()
                if k in ("role", "content", "reasoning_content", "tool_calls", "name") and v is not None
            }
            entry["content"] = _text(m.get("content"))
            out.append(entry)
            pending = []
    return out


def _llm_config(llm: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Qwen-Agent's ``llm`` dict as agentkit's model section plus run options."""
    from agentkit.config.task import SAMPLING_KEYS

    cfg = dict(llm or {})
    server = cfg.get("model_server") or cfg.get("base_url") or cfg.get("api_base")
    if server == "dashscope" or (server is None and cfg.get("model_type") == "qwen_dashscope"):
        raise ValueError(
            "agentkit drives your own Qwen3 endpoint; model_server='dashscope' is not supported. "
            "Set model_server to your vLLM/SGLang URL, e.g. 'http://localhost:8000/v1'."
        )
    gen = dict(cfg.get("generate_cfg") or {})
    model: dict[str, Any] = {"name": cfg.get("model"), "endpoint": server, "api_key": cfg.get("api_key")}
    for key in ("mode", "variant", "path", "engine"):
        if key in cfg:
            model[key] = cfg[key]
    for key in (*SAMPLING_KEYS, "max_tokens"):
        if key in gen:
            model[key] = gen[key]
    if "max_tokens" not in model and "max_output_tokens" in gen:
        model["max_tokens"] = gen["max_output_tokens"]
    options: dict[str, Any] = {}
    kwargs = (gen.get("extra_body") or {}).get("chat_template_kwargs") or {}
    enable = gen.get("enable_thinking", kwargs.get("enable_thinking", cfg.get("thinking")))
    if enable is not None:
        options["thinking"] = enable if isinstance(enable, str) else ("on" if enable else "off")
    if gen.get("thinking_budget") or cfg.get("thinking_budget"):
        options["thinking_budget"] = gen.get("thinking_budget") or cfg.get("thinking_budget")
    options["thought_in_content"] = bool(gen.get("thought_in_content"))
    return {k: v for k, v in model.items() if v is not None}, options


class Assistant:
    """An agent with tools, embedded in an app. ``async with`` keeps its tool servers up across runs."""

    def __init__(
        self,
        function_list: list[Any] | None = None,
        llm: dict[str, Any] | None = None,
        system_message: str | None = None,
        name: str | None = None,
        description: str | None = None,
        *,
        thinking: str | None = None,
        max_steps: int = 10,
        approve: Any = None,
        base_dir: str | Path | None = None,
        oauth_handler: Any = None,
        context: dict[str, Any] | int | str | None = None,
        **_ignored: Any,
    ):
        from agentkit.config import load_task_dict, resolve_tools

        model, options = _llm_config(llm)
        self.name, self.description = name, description
        self.thought_in_content = options.pop("thought_in_content")
        specs, objects, servers = self._split_functions(function_list or [])
        data: dict[str, Any] = {"model": model, "tools": specs, "max_steps": max_steps, **options}
        if thinking:
            data["thinking"] = thinking
        if system_message:
            data["system"] = system_message
        if servers:
            data["mcp_servers"] = servers
        if context is not None:  # as task.yaml's context: (an int is max_input_tokens, "off" turns it off)
            data["context"] = context
        self.task = load_task_dict(data, Path(base_dir or Path.cwd()), source="Assistant(...)")
        resolved, policies = resolve_tools(self.task)  # bad tool names fail here, not at the first run
        self._tools = ([*resolved, *objects], policies)
        self.approve = approve
        self.oauth_handler = oauth_handler
        """``async (server, authorization_url) -> None | callback_url`` for an MCP server's OAuth sign-in;
        None: print the URL and open the browser (see docs/mcp-client.md, "Signing in")."""
        self.last_result: Any = None
        """The ``RunResult`` of the latest run; after an interruption (Ctrl-C, a consumer that stopped
        early, cancellation) the record of every step finished before it, ``status: interrupted``."""
        self._open: Any = None
        self._agent: Any = None

    @staticmethod
    def _split_functions(items: list[Any]) -> tuple[list[Any], list[Any], dict[str, Any]]:
        """Names and config dicts (resolved by the task loader), tool objects, and MCP server configs."""
        from agentkit.interop import QwenAgentTool, is_qwen_agent_tool
        from agentkit.tooling.base import Tool
        from agentkit.tooling.decorator import FunctionTool

        specs: list[Any] = []
        objects: list[Any] = []
        servers: dict[str, Any] = {}
        for item in items:
            if isinstance(item, dict) and "mcpServers" in item:
                servers.update(item["mcpServers"])
            elif isinstance(item, (str, dict)):
                specs.append(item)
            elif is_qwen_agent_tool(item):
                objects.append(QwenAgentTool(item))
            elif isinstance(item, Tool):
                objects.append(item)
            elif callable(item):
                objects.append(FunctionTool(item))
            else:
                raise TypeError(
                    f"function_list entry {item!r} is not a tool name, a config dict, a tool or a function"
                )
        return specs, objects, servers

    async def __aenter__(self) -> Assistant:
        from agentkit.runtime import open_agent

        self._open = open_agent(
            self.task, approve=self.approve, tools=self._tools, authorization_handler=self.oauth_handler
        )
        self._agent = await self._open.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        opened, self._open, self._agent = self._open, None, None
        if opened is not None:
            await opened.__aexit__(*exc)

    async def arun(self, messages: list[Any], **_kwargs: Any) -> AsyncIterator[Responses]:
        """Stream the growing response list as the agent works."""
        if self._agent is not None:
            async with aclosing(self._stream(self._agent, messages)) as stream:
                async for snapshot in stream:
                    yield snapshot
            return
        async with self:
            async with aclosing(self._stream(self._agent, messages)) as stream:
                async for snapshot in stream:
                    yield snapshot

    async def arun_nonstream(self, messages: list[Any], **kwargs: Any) -> Responses:
        last = Responses()
        async for snapshot in self.arun(messages, **kwargs):
            last = snapshot
        return last

    async def _stream(self, agent: Any, messages: list[Any]) -> AsyncIterator[Responses]:
        import anyio

        send, receive = anyio.create_memory_object_stream[Any](max_buffer_size=1024)
        responses = Responses()
        state: dict[str, Any] = {"reasoning": "", "content": "", "current": None}

        def current() -> Message:
            if state["current"] is None:
                state["current"] = Message(role="assistant", content="", reasoning_content="")
                responses.append(state["current"])
            return state["current"]

        def render(msg: Message) -> None:
            if self.thought_in_content and state["reasoning"]:
                msg["content"] = f"<think>\n{state['reasoning']}\n</think>\n\n{state['content']}"
            else:
                msg["content"] = state["content"]
            msg["reasoning_content"] = state["reasoning"]

        async def on_event(event: Any) -> None:
            changed = True
            if isinstance(event, StepStarted):
                state.update(reasoning="", content="", current=None)
                changed = False
            elif isinstance(event, StreamRestarted):
                if state["current"] is not None and state["current"] in responses:
                    responses.remove(state["current"])
                state.update(reasoning="", content="", current=None)
            elif isinstance(event, ReasoningDelta):
                state["reasoning"] += event.text
                render(current())
            elif isinstance(event, ContentDelta):
                state["content"] += event.text
                render(current())
            elif isinstance(event, ToolRunning):
                msg = current() if not current().get("function_call") else None
                if msg is None:
                    msg = Message(role="assistant", content="")
                    responses.append(msg)
                msg["function_call"] = {
                    "name": event.name,
                    "arguments": json.dumps(event.arguments, ensure_ascii=False),
                }
                msg["extra"] = {"function_id": event.call_id}
            elif isinstance(event, ToolFinished):
                responses.append(
                    Message(
                        role="function",
                        name=event.name,
                        content=event.result.text,
                        extra={"function_id": event.call_id},
                    )
                )
                state["current"] = None
            else:
                changed = False
            if changed:
                await send.send(Responses(Message(m) for m in responses))

        result_box: dict[str, Any] = {}

        from agentkit.agent.records import Progress

        progress = Progress()
        self.last_result = None

        async def produce() -> None:
            async with send:
                result_box["result"] = await agent.run(
                    to_openai_messages(messages), on_event=on_event, progress=progress
                )
                self.last_result = result_box["result"]

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(produce)
                async with receive:
                    async for snapshot in receive:
                        yield snapshot
        finally:
            if "result" not in result_box:
                self.last_result = progress.interrupted()
        result = result_box.get("result")
        if result is not None and result.status == "error":
            from agentkit.llm.errors import LLMError

            raise LLMError(result.error)

    def run(self, messages: list[Any], **kwargs: Any) -> Iterator[Responses]:
        """Sync wrapper: yields the growing response list (runs the async core on a worker thread)."""
        items: queue.Queue[Any] = queue.Queue(maxsize=256)
        done = object()
        stop = threading.Event()
        running: dict[str, Any] = {}

        async def pump() -> None:
            import asyncio

            import anyio

            with anyio.CancelScope() as scope:
                running["cancel"] = (scope, asyncio.get_running_loop())
                if stop.is_set():
                    return
                try:
                    async with aclosing(self.arun(messages, **kwargs)) as stream:
                        async for snapshot in stream:
                            await _put(snapshot)
                            if stop.is_set():
                                return
                    await _put(done)
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # handed to the consumer's thread
                    await _put(exc)

        async def _put(item: Any) -> None:
            import anyio

            while not stop.is_set():
                try:
                    items.put_nowait(item)
                    return
                except queue.Full:
                    await anyio.sleep(0.01)

        def worker() -> None:
            import anyio

            anyio.run(pump)

        thread = threading.Thread(target=worker, name="agentkit-assistant", daemon=True)
        thread.start()
        try:
            while True:
                item = items.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:  # the consumer is done (or interrupted, Ctrl-C): cancel the run, its tools and servers
            stop.set()
            if "cancel" in running:
                scope, loop = running["cancel"]
                try:
                    loop.call_soon_threadsafe(scope.cancel)  # not waited for: the run may be ending
                except RuntimeError:  # it has ended
                    pass
            thread.join(timeout=30)

    def run_nonstream(self, messages: list[Any], **kwargs: Any) -> Responses:
        last = Responses()
        for snapshot in self.run(messages, **kwargs):
            last = snapshot
        return last
