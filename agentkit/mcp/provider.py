"""One MCP server as a ``ToolProvider``: its tools behind the one tool interface.

Each server is owned by one long-lived task that enters and exits the transport and the session (so
anyio's cancel scopes stay in one task) and restarts the server once if it dies. Tool calls go straight
to the session from the caller's task; calls that may change the server's state take the server's turn
lock first, so they run one at a time in call order (see ``call_tool``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import IO, Any

import anyio
import mcp.types as types
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from agentkit.mcp import processes
from agentkit.mcp.config import ServerConfig, parse_servers
from agentkit.mcp.names import ToolNames
from agentkit.mcp.results import resource_result, to_tool_result
from agentkit.mcp.sdk import EndWatch, all_pages, junk_line, leaf
from agentkit.mcp.tasks import call_as_task, needs_task, server_runs_tool_tasks
from agentkit.mcp.tools import RESOURCE_TOOL, MCPResourceTool, MCPTool, signature
from agentkit.tooling.base import Tool, ToolContext, ToolResult

SamplingHandler = Callable[[list[dict[str, Any]], "str | None", int], Awaitable[str]]
ElicitationHandler = Callable[[str, dict[str, Any]], Awaitable["dict[str, Any] | None"]]
LogHandler = Callable[[str, str, Any], None]
AuthorizationHandler = Callable[[str, str], Awaitable["str | None"]]
"""``(server, authorization URL) -> None | callback URL``: see ``agentkit.mcp.oauth.flow``."""
ToolsChanged = Callable[[list[str], list[Tool]], None]

RESTARTS = 1
CLOSE_TIMEOUT = 10.0
_STDERR_TAIL_LINES = 8

# The SDK logs transport noise (a junk stdout line, say) through `logging`; with no handler configured,
# Python would print it on the terminal. Problems reach the user through our own errors instead.
for _logger in ("mcp", "client"):
    logging.getLogger(_logger).addHandler(logging.NullHandler())


class MCPStartError(RuntimeError):
    """A server that could not be started, with its name, the reason and its stderr tail."""


class MCPServerProvider:
    """A ``ToolProvider`` for one MCP server (stdio, SSE or streamable HTTP)."""

    def __init__(
        self,
        name: str,
        config: ServerConfig | Mapping[str, Any],
        *,
        sampling_handler: SamplingHandler | None = None,
        elicitation_handler: ElicitationHandler | None = None,
        on_log: LogHandler | None = None,
        on_tools_changed: ToolsChanged | None = None,
        names: ToolNames | None = None,
        authorization_handler: AuthorizationHandler | None = None,
    ):
        if not isinstance(config, ServerConfig):
            parsed = parse_servers({name: config})
            if name not in parsed:
                raise ValueError(f"MCP server {name!r} is disabled in its config")
            config = parsed[name]
        self.name = name
        self.config = config
        self.sampling_handler = sampling_handler
        self.elicitation_handler = elicitation_handler
        self.on_log = on_log
        self.authorization_handler = authorization_handler
        """Shows the person an OAuth sign-in URL; None: print it and open the browser."""
        self.on_tools_changed = on_tools_changed
        """Called with (old names, new tools) when the tool list changes after start: ``ToolSet.replace``.
        Set it with ``follow`` once the tool set exists, so no change in between is missed."""
        self.tools: list[MCPTool | MCPResourceTool] = []
        self._published: list[MCPTool | MCPResourceTool] = []
        """The tools as the tool set last heard of them."""
        self._names = names or ToolNames([name], wait_limit=config.start_timeout + 1)
        self._listing: list[Any] = []
        self._resources: list[Any] = []
        self._templates: list[str] = []
        self._started = False
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._state = anyio.Event()
        self._wake = anyio.Event()
        self._stopping = False
        self._up = False
        self._lost = False
        self._relist = False
        self._relisted: anyio.Event | None = None
        """Set once the tool list the server said changed has been re-read (None: nothing pending)."""
        self._restarts_left = RESTARTS
        self._down: str | None = None
        self._stderr: IO[str] | None = None
        self._marker: str | None = None
        self._stderr_summary = ""
        self._http_error = ""
        self._junk: list[str] = []
        self._turn = asyncio.Lock()
        """Held by a call that may write: FIFO, so such calls run one at a time, in the order they came."""

    def __repr__(self) -> str:
        return f"MCPServerProvider({self.name!r}, {self.config.describe()!r})"

    # ── lifetime ────────────────────────────────────────────────────────────────────────────

    async def start(self) -> list[Tool]:
        """Start the server, finish the handshake, list its tools. Raises ``MCPStartError``."""
        if self._task is not None:
            raise RuntimeError(f"MCP server {self.name!r} is already started")
        self._task = asyncio.get_running_loop().create_task(self._own(), name=f"mcp-server:{self.name}")
        try:
            while self._session is None and self._down is None:
                await self._state.wait()
            if self._down is not None:
                await asyncio.wait({self._task})
                raise MCPStartError(self._down)
            self._names.offer(
                self.name, [t.name for t in self._listing] + [RESOURCE_TOOL] * self.config.resources
            )
            await self._names.wait()
        except BaseException:
            self._names.withdraw(self.name)
            with anyio.CancelScope(shield=True):
                await self.aclose()
            raise
        self._rebuild(notify=False)
        self._started = True
        return list(self.tools)

    async def aclose(self) -> None:
        """Stop the server: its process and the process's children are gone when this returns."""
        task = self._task
        self._stopping = True
        self._wake.set()
        if self._scope is not None and self._session is None:
            self._scope.cancel()  # still starting: stop waiting for the handshake
        if task is None or task.done():
            return
        with anyio.CancelScope(shield=True):
            await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)
            if not task.done():  # the owner is stuck: cancelling it still runs the transport's shielded kill
                task.cancel()
                await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)

    def _changed(self) -> None:
        """Wake whoever waits for the session to come up or go down for good."""
        state, self._state = self._state, anyio.Event()
        state.set()

    async def _own(self) -> None:
        """The owner task: connect, serve until stopped, restart once if the server goes away."""
        first = True
        try:
            while True:
                self._lost = self._up = False
                try:
                    await self._connection()
                except Exception as exc:
                    if not self._up:
                        self._down = self._explain(exc, first)
                finally:
                    self._session = None
                    self._list_settled()
                    self._close_stderr()
                    self._end_leftovers()
                if self._stopping or self._down is not None:
                    break
                tail = f" (stderr: {self._stderr_summary})" if self._stderr_summary else ""
                if self._restarts_left <= 0:
                    self._down = (
                        f"MCP server {self.name!r} stopped again after a restart{tail}; it stays down"
                    )
                    break
                self._restarts_left -= 1
                first = False
                self._log("warning", f"server went away{tail}; restarting it")
        finally:
            if self._down is None:
                self._down = f"MCP server {self.name!r} is stopped"
            self._changed()

    async def _connection(self) -> None:
        """One connection: open, handshake and list within the start timeout, then serve."""
        self._junk = []
        with anyio.CancelScope(deadline=anyio.current_time() + self.config.start_timeout) as scope:
            self._scope = scope
            try:
                async with AsyncExitStack() as stack:
                    session = await self._handshake(stack)
                    scope.deadline = math.inf
                    self._up = True
                    self._session = session
                    if self._started:
                        self._rebuild(notify=True)
                    self._changed()
                    await self._serve(session)
            finally:
                self._scope = None
        if scope.cancelled_caught and not self._stopping:
            raise TimeoutError

    async def _handshake(self, stack: AsyncExitStack) -> ClientSession:
        """Open the transport and the session, initialize, list the tools."""
        read, write = await self._open_transport(stack)
        session = await stack.enter_async_context(
            ClientSession(
                EndWatch(read, self._on_stream_end),
                write,
                sampling_callback=self._sampling if self.sampling_handler else None,
                elicitation_callback=self._elicitation if self.elicitation_handler else None,
                logging_callback=self._logging,
                message_handler=self._on_message,
                client_info=types.Implementation(name="agentkit", version=_version()),
            )
        )
        await session.initialize()
        await self._list(session)
        return session

    async def _list(self, session: ClientSession) -> None:
        """The server's tools that the config offers to the model; its resources when asked for."""
        tools = await all_pages(lambda params: session.list_tools(params=params), "tools", 100)
        capabilities = session.server_capabilities
        tasks = server_runs_tool_tasks(capabilities)
        self._listing = [
            spec for spec in tools if self.config.offers(spec.name) and (tasks or not needs_task(spec))
        ]  # a tool that only runs as a task on a server that runs none could never be called
        if self.config.resources and capabilities is not None and capabilities.resources is not None:
            self._resources = await all_pages(
                lambda params: session.list_resources(params=params), "resources", 10
            )
            try:
                templates = await session.list_resource_templates()
                self._templates = [t.uri_template for t in templates.resource_templates]
            except MCPError:
                self._templates = []

    async def _serve(self, session: ClientSession) -> None:
        while True:
            if self._stopping or self._lost:
                return
            if self._relist:
                self._relist = False
                try:
                    await self._list(session)
                except MCPError:
                    continue  # the connection went away; the flags say so
                if self._started:  # before that, start() names the latest listing itself
                    self._rebuild(notify=True)
                if not self._relist:
                    self._list_settled()
                continue
            self._wake = anyio.Event()
            await self._wake.wait()

    async def _open_transport(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        config = self.config
        if config.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            command = config.command or ""
            if os.sep not in command and shutil.which(command) is None:
                raise FileNotFoundError(command)
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            self._marker = processes.new_marker(self.name)
            processes.track(self._marker)
            env = {**os.environ, **config.env, processes.ENV_KEY: self._marker}
            command, args = processes.reaped(command, list(config.args))
            params = StdioServerParameters(command=command, args=args, env=env, cwd=config.cwd)
            streams = await stack.enter_async_context(stdio_client(params, errlog=self._stderr))
            stack.push_async_callback(self._end_unless_graceful)
            return streams
        from mcp.shared._httpx_utils import create_mcp_http_client

        def http_client(**kwargs: Any) -> Any:
            client = create_mcp_http_client(**kwargs)
            client.event_hooks = {"request": [], "response": [self._on_http_response]}
            return client

        self._http_error = ""
        auth = None
        if config.auth.enabled:
            from agentkit.mcp.oauth.flow import build_auth

            auth = await build_auth(
                self.name,
                config.url or "",
                config.auth,
                handler=self.authorization_handler,
                pause=self._waiting_on_person,
            )
        if config.transport == "sse":
            from mcp.client.sse import sse_client

            sse = sse_client(
                config.url or "",
                headers=config.headers or None,
                timeout=config.start_timeout,
                httpx_client_factory=http_client,
                auth=auth,
            )
            return await stack.enter_async_context(sse)
        from mcp.client.streamable_http import streamable_http_client

        client = await stack.enter_async_context(http_client(headers=config.headers or None, auth=auth))
        return await stack.enter_async_context(streamable_http_client(config.url or "", http_client=client))

    def _waiting_on_person(self, waiting: bool) -> None:
        """While a person signs in, the start timeout stops counting; it starts afresh when they are done."""
        scope = self._scope
        if scope is not None and self._session is None:
            scope.deadline = math.inf if waiting else anyio.current_time() + self.config.start_timeout

    async def _on_http_response(self, response: Any) -> None:
        """Remember the last HTTP error status: the SDK reports it only as "an error response"."""
        if response.status_code >= 400:
            self._http_error = f"HTTP {response.status_code} {response.reason_phrase}".strip()

    # ── tools ───────────────────────────────────────────────────────────────────────────────

    def follow(self, on_tools_changed: ToolsChanged) -> None:
        """Report tool list changes to ``on_tools_changed`` (``ToolSet.replace``) from now on, and at once
        any change since ``start()`` returned its tools."""
        self.on_tools_changed = on_tools_changed
        self._publish()

    def _rebuild(self, *, notify: bool) -> None:
        by_real = {spec.name: spec for spec in self._listing}
        reader = bool(self._resources or self._templates) and RESOURCE_TOOL not in by_real
        given = self._names.assign(self.name, [*by_real, *([RESOURCE_TOOL] if reader else [])])
        self.tools = [
            MCPTool(self, exposed, by_real[real])
            if real in by_real
            else MCPResourceTool(self, exposed, self._resources, self._templates)
            for exposed, real in given.items()
        ]
        if notify:
            self._publish()
        else:
            self._published = list(self.tools)

    def _publish(self) -> None:
        """Tell the tool set about tools that changed since it was last told."""
        if self.on_tools_changed is not None and signature(self._published) != signature(self.tools):
            old, self._published = self._published, list(self.tools)
            self.on_tools_changed([t.name for t in old], list(self.tools))

    async def call_tool(
        self,
        real_name: str,
        arguments: dict[str, Any],
        ctx: ToolContext,
        *,
        exclusive: bool = True,
        as_task: bool = False,
    ) -> ToolResult:
        """Call a tool by its real name. Every failure is an error result, never an exception.

        ``exclusive`` (a tool not annotated ``readOnlyHint: true`` on a server not marked ``concurrent``):
        the call waits for the server's earlier exclusive calls to finish, so two writes of one step never
        race inside the server (server-memory, say, loses one of two concurrent writes).
        ``as_task``: a tool declaring ``execution.taskSupport: required`` runs as an MCP task (see
        ``agentkit.mcp.tasks``), within ``call_timeout`` all told; a cancelled call cancels the task."""
        if exclusive and not self.config.concurrent:
            async with self._turn:
                return await self._call_tool(real_name, arguments, ctx, as_task)
        return await self._call_tool(real_name, arguments, ctx, as_task)

    async def _call_tool(
        self, real_name: str, arguments: dict[str, Any], ctx: ToolContext, as_task: bool
    ) -> ToolResult:
        progress = _progress_forwarder(ctx) if ctx.progress is not None else None

        async def task(session: ClientSession) -> Any:
            with anyio.fail_after(self.config.call_timeout or math.inf):
                return await call_as_task(
                    session, real_name, arguments, ttl_seconds=self.config.call_timeout, progress=progress
                )

        def send(session: ClientSession) -> Awaitable[Any]:
            if as_task:
                return task(session)
            return session.call_tool(
                real_name,
                arguments,
                read_timeout_seconds=self.config.call_timeout,
                progress_callback=progress,
            )

        outcome = await self._send(f"the call to {real_name!r}", send)
        return (
            outcome
            if isinstance(outcome, ToolResult)
            else to_tool_result(outcome, self.config.max_output_chars)
        )

    async def read_resource(self, uri: str) -> ToolResult:
        """Read one of the server's resources. Every failure is an error result, never an exception."""

        async def send(session: ClientSession) -> Any:
            with anyio.fail_after(self.config.call_timeout or math.inf):
                return await session.read_resource(uri)

        outcome = await self._send(f"reading {uri!r}", send)
        return (
            outcome
            if isinstance(outcome, ToolResult)
            else resource_result(outcome, self.config.max_output_chars)
        )

    async def _send(self, what: str, send: Callable[[ClientSession], Awaitable[Any]]) -> Any:
        """``send`` on the live session (waiting for a restart if one is under way), or an error result."""
        session = self._session if not self._lost else None
        if session is None:
            session = await self._wait_for_session()
        if session is None:
            return ToolResult.error(self._down or f"MCP server {self.name!r} is stopped")
        try:
            outcome = await send(session)
            await self._tools_settled()
            return outcome
        except MCPError as exc:
            if exc.error.code == types.CONNECTION_CLOSED and session is self._session:
                self._on_stream_end()  # HTTP transports report a dead server this way only
            return ToolResult.error(self._call_error(what, exc))
        except TimeoutError:
            return ToolResult.error(self._timeout_error(what))
        except Exception as exc:  # a malformed result, a transport failure: the model gets the reason
            return ToolResult.error(f"MCP server {self.name!r} failed {what}: {leaf(exc)}")

    async def _tools_settled(self) -> None:
        """Wait (briefly) for a tool list change the server announced before its result to be applied, so the
        model's next step, rendered as soon as the result is back, already lists the new tools."""
        pending = self._relisted
        if pending is not None:
            with anyio.move_on_after(self.config.start_timeout):
                await pending.wait()

    def _list_settled(self) -> None:
        pending, self._relisted = self._relisted, None
        if pending is not None:
            pending.set()

    async def _wait_for_session(self) -> ClientSession | None:
        """While the server restarts, wait for it (at most its start timeout)."""
        with anyio.move_on_after(self.config.start_timeout + 1):
            while self._task is not None and (self._session is None or self._lost) and self._down is None:
                await self._state.wait()
        return self._session if not self._lost else None

    def _call_error(self, what: str, exc: MCPError) -> str:
        if exc.error.code == types.CONNECTION_CLOSED or self._lost:
            tail = self._stderr_summary or self._read_stderr_tail()
            then = (
                "agentkit is restarting it once; call the tool again"
                if self._restarts_left > 0
                else "it was already restarted once and stays down"
            )
            return (
                f"MCP server {self.name!r} stopped during {what}"
                + (f" (stderr: {tail})" if tail else "")
                + f"; {then}."
            )
        if exc.error.code == types.REQUEST_TIMEOUT:
            return self._timeout_error(what)
        return f"MCP server {self.name!r} refused {what}: {exc.error.message}"

    def _timeout_error(self, what: str) -> str:
        return (
            f"MCP server {self.name!r} did not finish {what} within {self.config.call_timeout:g} s "
            "(call_timeout); it was cancelled."
        )

    # ── what the server sends ───────────────────────────────────────────────────────────────

    def _on_stream_end(self) -> None:
        if not self._stopping:
            self._lost = True
            self._stderr_summary = self._read_stderr_tail()
            self._wake.set()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            line = junk_line(message)
            if line is None:
                self._log("warning", f"transport error: {leaf(message)}")
                return
            if len(self._junk) < 3:
                self._junk.append(line)
            self._log("warning", f"non-MCP output from the server: {line!r}")
        elif isinstance(message, types.ToolListChangedNotification) or (
            self.config.resources and isinstance(message, types.ResourceListChangedNotification)
        ):
            self._relist = True
            self._relisted = self._relisted or anyio.Event()
            self._wake.set()

    async def _logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self._log(
            params.level,
            params.data if params.logger is None else {"logger": params.logger, "data": params.data},
        )

    def _log(self, level: str, data: Any) -> None:
        if self.on_log is not None:
            self.on_log(self.name, level, data)

    async def _sampling(self, context: Any, params: types.CreateMessageRequestParams) -> Any:
        assert self.sampling_handler is not None
        messages = [{"role": m.role, "content": _sampling_text(m.content)} for m in params.messages]
        try:
            text = await self.sampling_handler(messages, params.system_prompt, params.max_tokens)
        except Exception as exc:
            return types.ErrorData(
                code=types.INTERNAL_ERROR, message=f"agentkit could not sample: {leaf(exc)}"
            )
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=text),
            model="agentkit",
            stop_reason="endTurn",
        )

    async def _elicitation(self, context: Any, params: Any) -> Any:
        assert self.elicitation_handler is not None
        message = params.message
        schema: dict[str, Any] = {}
        if isinstance(params, types.ElicitRequestURLParams):
            message = f"{message}\nOpen this address to continue: {params.url}"
        else:
            requested = params.requested_schema
            schema = (
                requested.model_dump(mode="json", by_alias=True)
                if hasattr(requested, "model_dump")
                else requested
            )
        try:
            answer = await self.elicitation_handler(message, schema)
        except Exception as exc:
            return types.ErrorData(
                code=types.INTERNAL_ERROR, message=f"agentkit could not ask the user: {leaf(exc)}"
            )
        if answer is None:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content=answer or None)

    # ── failure reports ─────────────────────────────────────────────────────────────────────

    def _explain(self, exc: BaseException, first: bool) -> str:
        cause = leaf(exc)
        what = f"MCP server {self.name!r} ({self.config.describe()})"
        if isinstance(cause, FileNotFoundError) and self.config.transport == "stdio":
            reason = f"command {self.config.command!r} was not found; install it or fix `command`"
        elif isinstance(cause, TimeoutError):
            reason = (
                f"did not finish the MCP handshake within {self.config.start_timeout:g} s; "
                "raise its `timeout:` if it is slow to start"
            )
        elif self.config.transport != "stdio" and _connect_error(cause):
            reason = f"nothing answers at {self.config.url} ({cause}); start the server or fix `url`"
        elif isinstance(cause, MCPError) and cause.error.code == types.CONNECTION_CLOSED:
            reason = "exited before finishing the MCP handshake" if first else "went away while restarting"
        else:
            reason = f"{type(cause).__name__}: {cause}"
        if self._http_error:
            reason += f"; the server answered {self._http_error}"
            if self._http_error.startswith(("HTTP 401", "HTTP 403")):
                reason += (
                    " (the OAuth sign-in did not succeed; if the server takes a static token instead, give it "
                    "in `headers: {Authorization: Bearer ...}`)"
                    if self.config.auth.enabled
                    else " (check the token in its `headers`)"
                )
        if self._junk:
            reason += f"; it wrote non-MCP output on stdout: {self._junk[0]!r}"
        tail = self._read_stderr_tail() or self._stderr_summary
        if tail:
            reason += f"; stderr: {tail}"
        return f"{what} failed to start: {reason}" if first else f"{what} could not be restarted: {reason}"

    def _read_stderr_tail(self) -> str:
        stream = self._stderr
        if stream is None or stream.closed:
            return ""
        try:
            stream.flush()
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - 4000))
            lines = [" ".join(line.split()) for line in stream.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return " | ".join(lines[-_STDERR_TAIL_LINES:])[-1000:]

    async def _end_unless_graceful(self) -> None:
        """Runs before the transport closes: a server that failed, died or is stopped mid-start is ended now
        (the transport would first wait seconds for it to exit on its own); a running one is left to exit
        gracefully when its stdin closes."""
        if self._up and self._stopping and not self._lost:
            return
        marker = self._marker
        if marker is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(processes.end_marked, marker)

    def _end_leftovers(self) -> None:
        """After a stdio connection closed: end the server's processes still running (orphaned children).

        Synchronous on purpose: it must also run when the owner task is being cancelled."""
        if self._marker is not None:
            marker, self._marker = self._marker, None
            left = processes.release(marker)
            if left:
                self._log("info", f"ended {len(left)} leftover process(es) of the server: {left}")

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def providers_from_config(
    raw: Mapping[str, Any] | None,
    *,
    sampling_handler: SamplingHandler | None = None,
    elicitation_handler: ElicitationHandler | None = None,
    on_log: LogHandler | None = None,
    on_tools_changed: ToolsChanged | None = None,
    reserved_names: Any = (),
    base_dir: Any = None,
    authorization_handler: AuthorizationHandler | None = None,
) -> list[MCPServerProvider]:
    """One provider per enabled server of a config, sharing one naming scope.

    ``reserved_names``: names already taken (in-process tools); an MCP tool with such a name is prefixed.
    """
    configs = parse_servers(raw, base_dir=base_dir)
    wait_limit = max((c.start_timeout for c in configs.values()), default=0) + 1
    names = ToolNames(list(configs), reserved=reserved_names, wait_limit=wait_limit)
    return [
        MCPServerProvider(
            name,
            config,
            sampling_handler=sampling_handler,
            elicitation_handler=elicitation_handler,
            on_log=on_log,
            on_tools_changed=on_tools_changed,
            names=names,
            authorization_handler=authorization_handler,
        )
        for name, config in configs.items()
    ]


def _progress_forwarder(ctx: ToolContext) -> Callable[[float, float | None, str | None], Awaitable[None]]:
    async def forward(progress: float, total: float | None, message: str | None) -> None:
        await ctx.report_progress(progress, total, message)

    return forward


def _connect_error(exc: BaseException) -> bool:
    """Whether the SDK's HTTP client (``httpx2``) found nothing listening at the URL."""
    import httpx2

    return isinstance(exc, httpx2.ConnectError)


def _sampling_text(content: Any) -> str:
    blocks = content if isinstance(content, list) else [content]
    return "\n".join(getattr(b, "text", None) or f"[{getattr(b, 'type', 'content')}]" for b in blocks)


def _version() -> str:
    from agentkit import __version__

    return __version__
