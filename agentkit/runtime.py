"""The composition root: a task's model endpoint, tools and MCP servers put together into an ``Agent``."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from agentkit.agent.loop import Agent, Approver
from agentkit.llm.errors import EndpointUnreachable, LLMError
from agentkit.llm.types import LLM, NON_THINKING_SAMPLING, ModelRequest, StepFinished
from agentkit.tooling.toolset import ToolSet

log = logging.getLogger("agentkit")
DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"
Notice = Callable[[str], None]


def http_llm(
    model: Any, endpoints: str | Sequence[str], *, name: str | None = None, tracer: Any = None
) -> LLM:
    """A native or server backend (per ``model.mode``) for one endpoint or several replicas of one model."""
    from agentkit.llm.http import Endpoint
    from agentkit.llm.native import NativeBackend
    from agentkit.llm.server import ServerBackend

    urls = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    backend = NativeBackend if model.mode == "native" else ServerBackend
    return backend(
        [Endpoint(url, api_key=model.api_key, timeout=model.timeout) for url in urls],
        name if name is not None else model.name,
        variant=model.variant,
        tracer=tracer,
    )


async def _answers(endpoint: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return (await client.get(endpoint.rstrip("/") + "/models")).status_code == 200
    except httpx.HTTPError:
        return False


@asynccontextmanager
async def open_llm(
    task: Any,
    *,
    tracer: Any = None,
    allow_simulation: bool = False,
    notice: Notice | None = None,
    keep: bool = False,
) -> AsyncIterator[LLM]:
    """The model for a task, first that applies:

    1. ``model.endpoint``; ``engine: transformers`` in process;
    2. ``$AGENTKIT_ENDPOINT`` when it answers;
    3. with ``model.path`` or ``model.name``: a local server of that model, found or launched;
    4. without them: whatever answers at vLLM's default ``http://127.0.0.1:8000/v1``;
    5. for the CLI only, the task's ``simulation:`` script on the built-in simulator, announced as such.
    """
    model = task.model
    notice = notice or log.warning
    env_endpoint = os.environ.get("AGENTKIT_ENDPOINT")
    async with AsyncExitStack() as stack:
        llm: LLM
        if model.engine == "transformers":
            from agentkit.llm.transformers_engine import TransformersLLM

            llm = TransformersLLM(
                model.path or model.name, variant=model.variant, device=model.device, dtype=model.dtype
            )
        elif model.endpoint:
            llm = http_llm(model, model.endpoint, tracer=tracer)
        elif env_endpoint and await _answers(env_endpoint):
            llm = http_llm(model, env_endpoint, tracer=tracer)
        elif not (model.path or model.name) and await _answers(DEFAULT_ENDPOINT):
            llm = http_llm(model, DEFAULT_ENDPOINT, tracer=tracer)
        else:
            urls, served = await _local_server(
                task, stack, allow_simulation=allow_simulation, notice=notice, keep=keep
            )
            llm = http_llm(model, urls, name=served, tracer=tracer)
        stack.push_async_callback(llm.aclose)
        if model.path and model.mode == "native" and Path(model.path).is_dir():
            from agentkit.qwen3.model_template import template_if_ours_differs

            llm.chat_template = template_if_ours_differs(model.path, llm.variant)
        yield llm


async def _local_server(
    task: Any, stack: AsyncExitStack, *, allow_simulation: bool, notice: Notice, keep: bool
) -> tuple[list[str], str | None]:
    """A server for the task's model (reused or launched), else its simulation script (CLI only).

    Returns the endpoints (replicas of one model) and the served model name (None: ask the server)."""
    model = task.model
    can_simulate = allow_simulation and task.simulation
    where = os.environ.get("AGENTKIT_ENDPOINT") or DEFAULT_ENDPOINT
    reason = f"the task names no model.endpoint and nothing answers at {where}"
    if model.path or model.name:
        from agentkit.serving import ServingError, ensure_server

        try:
            server = await stack.enter_async_context(
                ensure_server(model.serving_args(), keep=keep, on_status=notice)
            )
            return list(server.replicas or [server.base_url]), server.model
        except ServingError as exc:
            if not can_simulate:
                raise LLMError(str(exc)) from exc
            reason = f"{reason}, and no server for {model.path or model.name} can be started here: {str(exc).rstrip('.')}"
    if not can_simulate:
        raise EndpointUnreachable(
            f"{reason}. Start one (e.g. `python -m agentkit serve Qwen/Qwen3-8B`, or `vllm serve Qwen/Qwen3-8B "
            "--enable-auto-tool-choice --tool-call-parser hermes --reasoning-parser qwen3`) or set model.endpoint."
        )
    from agentkit.testing.simulator import run_simulator

    script = Path(task.base_dir, task.simulation)
    sim = await stack.enter_async_context(run_simulator(script))
    notice(
        f"SIMULATION: {reason}. Replaying the scripted outputs of {script.name} on the built-in Qwen3 simulator "
        "instead: no model runs (set model.endpoint to use a real one)."
    )
    return [sim.base_url], None


def _sampling_handler(llm: LLM, overrides: dict[str, Any]) -> Callable[..., Any]:
    """Answer an MCP server's sampling request with our own model, thinking off (with the model card's
    non-thinking sampling and the task's ``overrides``)."""
    sampling = {**NON_THINKING_SAMPLING, **overrides}

    async def handle(messages: list[dict[str, Any]], system_prompt: str | None, max_tokens: int) -> str:
        history = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + list(messages)
        request = ModelRequest(messages=history, thinking=False, sampling=sampling, max_tokens=max_tokens)
        async for event in llm.stream(request):
            if isinstance(event, StepFinished):
                return event.output.parsed.content or ""
        return ""

    return handle


@asynccontextmanager
async def open_agent(
    task: Any,
    *,
    approve: Approver | None = None,
    tracer: Any = None,
    allow_simulation: bool = False,
    notice: Notice | None = None,
    elicitation_handler: Callable[..., Any] | None = None,
    keep_server: bool = False,
    tools: tuple[list[Any], dict[str, Any]] | None = None,
) -> AsyncIterator[Agent]:
    """An ``Agent`` for a loaded task, with its model endpoint and tool servers up; all closed on exit.

    ``tools``: the task's tools and policies already resolved (``agentkit.config.resolve_tools``)."""
    from agentkit.config import resolve_tools

    notice = notice or log.warning
    async with AsyncExitStack() as stack:
        llm = await stack.enter_async_context(
            open_llm(task, tracer=tracer, allow_simulation=allow_simulation, notice=notice, keep=keep_server)
        )
        resolved, policies = tools or resolve_tools(task)
        toolset = await stack.enter_async_context(
            open_toolset(
                task, llm, resolved, tracer=tracer, notice=notice, elicitation_handler=elicitation_handler
            )
        )
        yield make_agent(task, llm, toolset, policies, approve=approve)


@asynccontextmanager
async def open_toolset(
    task: Any,
    llm: LLM,
    resolved: list[Any],
    *,
    tracer: Any = None,
    notice: Notice | None = None,
    elicitation_handler: Callable[..., Any] | None = None,
) -> AsyncIterator[ToolSet]:
    """The task's resolved in-process tools and its MCP servers (started here, stopped on exit) as one set."""
    notice = notice or log.warning
    providers: list[Any] = []
    if task.mcp_servers:
        from agentkit.mcp import providers_from_config

        on_log = None
        if tracer is not None:

            def on_log(server: str, level: str, data: Any) -> None:
                tracer.write("mcp.log", {"server": server, "level": level, "data": data})

        providers = providers_from_config(
            task.mcp_servers,
            sampling_handler=_sampling_handler(llm, task.model.sampling()),
            elicitation_handler=elicitation_handler,
            on_log=on_log,
            reserved_names=[t.name for t in resolved],
            base_dir=task.base_dir,
        )
    async with ToolSet(resolved, providers) as toolset:
        for provider in providers:
            if provider.name not in toolset.provider_errors:
                provider.follow(toolset.replace)  # picks up tools/list_changed
        for problem in toolset.provider_errors.values():
            notice(f"{problem} (the run goes on without it)")
        yield toolset


def make_agent(
    task: Any, llm: LLM, toolset: ToolSet, policies: dict[str, Any], *, approve: Approver | None = None
) -> Agent:
    """The ``Agent`` a task describes, over a model and a tool set that are already open."""
    return Agent(
        llm,
        toolset,
        system=task.system,
        thinking=task.thinking,
        thinking_budget=task.thinking_budget,
        max_steps=task.max_steps,
        policies=policies,
        tool_timeout=task.tool_timeout,
        max_tool_output=task.max_tool_output,
        parallel_tools=task.parallel_tools,
        sampling=task.model.sampling(),
        max_tokens=task.model.max_tokens,
        approve=approve,
    )
