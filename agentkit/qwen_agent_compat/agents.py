"""Qwen-Agent's agent classes on agentkit's loop: ``Agent``, ``FnCallAgent``, ``Assistant``.

Same constructors, same ``run``/``run_nonstream`` results (see ``shaping``), async-first: ``arun`` and
``async with`` keep tool servers up; sync ``run`` keeps them up on the agent's background loop until
``close()``, the ``with`` block's end, or interpreter exit.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

from agentkit.agent.records import Progress
from agentkit.qwen_agent_compat import llm as llm_module
from agentkit.qwen_agent_compat.background import BackgroundLoop
from agentkit.qwen_agent_compat.messages import Message, Responses, dump, files_of, plain, to_openai_messages
from agentkit.qwen_agent_compat.qwen_tools import QwenAgentTool
from agentkit.qwen_agent_compat.shaping import ResponseShaper
from agentkit.qwen_agent_compat.tools import split_function_list

DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."  # Qwen-Agent's default, as its agents use it
MAX_LLM_CALL_PER_RUN = 20  # Qwen-Agent's default number of model calls per run
THINKING_CHOICES = ("auto", "on", "off", "as_configured")


class Agent:
    """The common part: configuration, tool servers' lifetime, Qwen-Agent's message handling."""

    uses_documents = False

    def __init__(
        self,
        function_list: list[Any] | None = None,
        llm: Any = None,
        system_message: str | None = DEFAULT_SYSTEM_MESSAGE,
        name: str | None = None,
        description: str | None = None,
        files: list[str] | None = None,
        rag_cfg: dict[str, Any] | None = None,
        *,
        thinking: str | None = None,
        max_steps: int = MAX_LLM_CALL_PER_RUN,
        approve: Any = None,
        base_dir: str | Path | None = None,
        oauth_handler: Any = None,
        context: dict[str, Any] | int | str | None = None,
        **unknown: Any,
    ):
        from agentkit.config import load_task_dict, resolve_tools

        if unknown:
            known = "function_list, llm, system_message, name, description, files, rag_cfg, thinking, "
            known += "max_steps, approve, base_dir, oauth_handler, context"
            raise TypeError(
                f"{type(self).__name__}() got unknown arguments: {', '.join(unknown)} (known: {known})"
            )
        for key in self._rag_keys_to_warn(rag_cfg):
            from agentkit.qwen_agent_compat.options import warn_once

            warn_once(
                f"rag_cfg.{key}", f"rag_cfg {key!r}: agentkit retrieves with BM25 over the question itself"
            )

        if thinking is not None and thinking not in THINKING_CHOICES:
            raise ValueError(f"thinking must be one of {', '.join(THINKING_CHOICES)}, got {thinking!r}")
        self.llm = llm_module.get_chat_model(llm) if isinstance(llm, dict) or llm is None else llm
        if not isinstance(self.llm, llm_module.ChatModel):
            raise TypeError(
                f"llm must be a config dict or a model from agentkit's get_chat_model, not {type(llm).__name__} "
                "(switch `from qwen_agent.llm import get_chat_model` to `from agentkit.qwen_agent_compat "
                "import get_chat_model`)"
            )
        settings = self.llm.settings
        self.system_message, self.name, self.description = system_message, name, description
        self.files = list(files or [])
        self.rag_cfg = dict(rag_cfg or {})
        self.max_input_tokens = settings.max_input_tokens
        specs, objects, servers = split_function_list(function_list or [])
        if settings.function_choice == "none":  # as in Qwen-Agent: the model is offered no tools
            specs, objects, servers = [], [], {}
        data: dict[str, Any] = {"model": settings.model, "tools": specs, "max_steps": max_steps}
        # enable_thinking in generate_cfg fixes thinking for every step, as in Qwen-Agent; otherwise
        # agentkit's per-step switching, or thinking='as_configured' for Qwen-Agent's behaviour exactly
        chosen = settings.thinking or thinking or "auto"
        data["thinking"] = "on" if chosen == "as_configured" else chosen
        if settings.thinking_budget:
            data["thinking_budget"] = settings.thinking_budget
        if servers:
            from agentkit.qwen_agent_compat.mcp_names import with_resources

            data["mcp_servers"] = with_resources(servers)
        if context is not None:  # as task.yaml's context: (an int is max_input_tokens, "off" turns it off)
            data["context"] = context
        self.task = load_task_dict(data, Path(base_dir or Path.cwd()), source=f"{type(self).__name__}(...)")
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
        self._background = BackgroundLoop()
        self._finalizer: Any = None

    @staticmethod
    def _rag_keys_to_warn(rag_cfg: dict[str, Any] | None) -> list[str]:
        """rag_cfg keys naming Qwen-Agent's keyword-generation and searcher choices (not used here)."""
        cfg = rag_cfg or {}
        unknown = set(cfg) - {"max_ref_token", "parser_page_size", "rag_keygen_strategy", "rag_searchers"}
        if unknown:
            raise ValueError(
                f"unknown rag_cfg keys: {', '.join(sorted(unknown))} (known: max_ref_token, "
                "parser_page_size, rag_keygen_strategy, rag_searchers)"
            )
        return [k for k in ("rag_keygen_strategy", "rag_searchers") if k in cfg]

    # -- tools -------------------------------------------------------------------------------
    @property
    def function_map(self) -> dict[str, Any]:
        """Tool name -> tool, as Qwen-Agent's ``function_map``; with MCP servers this starts them (on the
        background loop, as the sync ``run`` does) so that their tools are listed, as in Qwen-Agent."""
        if self.task.mcp_servers and self._agent is None:
            self._ensure_open_in_background()
        tools = list(self._agent.tools) if self._agent is not None else self._tools[0]
        return {t.name: getattr(t, "tool", t) for t in tools}

    # -- lifetime ----------------------------------------------------------------------------
    async def __aenter__(self) -> Agent:
        from agentkit.runtime import open_agent

        self._open = open_agent(
            self.task, approve=self.approve, tools=self._tools, authorization_handler=self.oauth_handler
        )
        self._agent = await self._open.__aenter__()
        from agentkit.qwen_agent_compat.mcp_names import qwen_agent_names

        qwen_agent_names(self._agent.tools)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        opened, self._open, self._agent = self._open, None, None
        if opened is not None:
            await opened.__aexit__(*exc)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """End the background loop and the tool servers it keeps up (sync use). Also at interpreter exit,
        or when the agent is garbage-collected."""
        if self._finalizer is not None:
            self._finalizer()
        self._agent = None

    def _ensure_open_in_background(self) -> None:
        if self._finalizer is not None and self._finalizer.alive and self._agent is not None:
            return

        async def start() -> tuple[Any, asyncio.Event, asyncio.Task[None]]:
            ready = asyncio.get_running_loop().create_future()
            closing = asyncio.Event()
            keeper = asyncio.ensure_future(
                _keep_open(self.task, self.approve, self._tools, self.oauth_handler, ready, closing)
            )
            _KEEPERS.add(keeper)
            keeper.add_done_callback(_KEEPERS.discard)
            return await ready, closing, keeper

        agent, closing, keeper = self._background.call(start())
        self._agent = agent
        self._finalizer = weakref.finalize(self, _shut_down, self._background, closing, keeper)

    # -- running -----------------------------------------------------------------------------
    def run(self, messages: list[Any], **kwargs: Any) -> Iterator[Any]:
        """Sync: yields the growing response list; tool servers stay up across calls."""
        self._ensure_open_in_background()
        yield from self._background.iterate(lambda: self.arun(messages, **kwargs))

    def run_nonstream(self, messages: list[Any], **kwargs: Any) -> Any:
        last: Any = Responses()
        for snapshot in self.run(messages, **kwargs):
            last = snapshot
        return last

    async def arun(self, messages: list[Any], **kwargs: Any) -> AsyncIterator[Any]:
        """Stream the growing response list as the agent works."""
        if self._agent is not None:
            async with aclosing(self._stream(self._agent, messages, **kwargs)) as stream:
                async for snapshot in stream:
                    yield snapshot
            return
        async with self:
            async with aclosing(self._stream(self._agent, messages, **kwargs)) as stream:
                async for snapshot in stream:
                    yield snapshot

    async def arun_nonstream(self, messages: list[Any], **kwargs: Any) -> Any:
        last: Any = Responses()
        async for snapshot in self.arun(messages, **kwargs):
            last = snapshot
        return last

    def _prepare(self, messages: list[dict[str, Any]], knowledge: str) -> list[dict[str, Any]]:
        """Qwen-Agent's system message merging, knowledge and ``max_input_tokens`` truncation."""
        from agentkit.qwen_agent_compat.truncate import truncate_history

        messages = [dict(m) for m in messages]
        system = self.system_message or ""
        if messages and messages[0].get("role") == "system":
            first = messages.pop(0)
            lead = first.get("content") or ""
            if system:
                lead = [{"text": system + "\n\n"}, *lead] if isinstance(lead, list) else f"{system}\n\n{lead}"
            system_content: Any = lead
        else:
            system_content = system
        if knowledge:
            if isinstance(system_content, list):
                system_content = [*system_content, {"text": "\n\n" + knowledge}]
            else:
                system_content = f"{system_content}\n\n{knowledge}" if system_content else knowledge
        if system_content:
            messages.insert(0, {"role": "system", "content": system_content})
        openai = to_openai_messages(messages)
        if self.max_input_tokens and self.max_input_tokens > 0:
            openai = truncate_history(openai, self.max_input_tokens)
        return openai

    async def _knowledge(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> str:
        return ""

    async def _stream(self, agent: Any, messages: list[Any], **kwargs: Any) -> AsyncIterator[Any]:
        import anyio

        as_objects = not messages or any(
            hasattr(m, "model_dump") and not isinstance(m, dict) for m in messages
        )
        history = [plain(m) for m in messages]
        files = [*self.files, *[f for f in files_of(history) if f not in self.files]]
        for tool in agent.tools:  # Qwen-Agent hands the files to tools with file_access
            if isinstance(tool, QwenAgentTool):
                tool.files = files
        knowledge = kwargs.get("knowledge") or await self._knowledge(history, kwargs)
        prepared = self._prepare(history, knowledge)
        send, receive = anyio.create_memory_object_stream[Any](max_buffer_size=1024)
        raw_api = self.task.model.mode == "server"
        shaper = ResponseShaper(with_tools=len(agent.tools) > 0, raw_api=raw_api)

        async def on_event(event: Any) -> None:
            if shaper.feed(event):
                await send.send(self._output(shaper.responses, as_objects))

        result_box: dict[str, Any] = {}
        progress = Progress()
        self.last_result = None

        async def produce() -> None:
            async with send:
                result_box["result"] = await agent.run(prepared, on_event=on_event, progress=progress)
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
        yield self._output(shaper.responses, as_objects)  # Qwen-Agent ends with the final list again

    def _output(self, responses: list[Message], as_objects: bool) -> Any:
        out = Responses()
        for m in responses:
            m = Message(dump(m))
            if not m.get("name") and self.name:
                m = Message(dump({**m, "name": self.name}))
            out.append(_qwen_message(m) if as_objects else m)
        return out


def _qwen_message(m: Message) -> Any:
    """A Qwen-Agent ``Message`` (the type Qwen-Agent returns when it was given Message objects)."""
    try:
        from qwen_agent.llm.schema import Message as QwenMessage
    except ImportError:
        return m
    return QwenMessage(**m)


_KEEPERS: set[Any] = set()  # keeper tasks, held until their agent closes


async def _keep_open(
    task: Any, approve: Any, tools: Any, oauth_handler: Any, ready: Any, closing: asyncio.Event
) -> None:
    """Holds one agent open on the background loop (entered and left in this one task)."""
    from agentkit.qwen_agent_compat.mcp_names import qwen_agent_names
    from agentkit.runtime import open_agent

    try:
        async with open_agent(
            task, approve=approve, tools=tools, authorization_handler=oauth_handler
        ) as agent:
            qwen_agent_names(agent.tools)
            ready.set_result(agent)
            await closing.wait()
    except BaseException as exc:
        if not ready.done():
            ready.set_exception(exc)
            return
        raise


def _shut_down(background: BackgroundLoop, closing: asyncio.Event, keeper: Any) -> None:
    """Close the kept agent (its MCP servers end with it), then stop the loop."""

    async def finish() -> None:
        closing.set()
        await asyncio.gather(keeper, return_exceptions=True)

    background.close(finish())


class FnCallAgent(Agent):
    """Qwen-Agent's function-calling agent: the tool loop; ``files=`` only reach tools with ``file_access``."""


class Assistant(FnCallAgent):
    """Qwen-Agent's ``Assistant``: tools plus documents (``files=``, ``{'file': path}`` items, ``rag_cfg``)."""

    uses_documents = True

    async def _knowledge(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> str:
        from agentkit.qwen_agent_compat.documents import SUPPORTED, knowledge_prompt
        from agentkit.qwen_agent_compat.messages import text_of

        files = [*self.files, *[f for f in files_of(messages) if f not in self.files]]
        if any(getattr(getattr(t, "tool", None), "file_access", False) for t in self._tools[0]):
            # a tool reads files itself (e.g. code_interpreter a CSV): only documents become knowledge
            files = [f for f in files if Path(f).suffix.lower() in SUPPORTED]
        if not files:
            return ""
        query = (
            text_of(messages[-1].get("content")) if messages and messages[-1].get("role") == "user" else ""
        )
        return await knowledge_prompt(files, query, self.rag_cfg, lang=kwargs.get("lang"))
