"""The composition root: a task's model endpoint, tools and MCP servers put together into an ``Agent``."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from agentkit.agent.loop import Agent, Approver
from agentkit.llm.errors import EndpointUnreachable, LLMError
from agentkit.llm.types import LLM, ModelRequest, StepFinished
from agentkit.tooling.toolset import ToolSet

log = logging.getLogger("agentkit")
DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"


def default_endpoint() -> str:
    """Where a task with no ``model.endpoint`` looks first: ``$AGENTKIT_ENDPOINT``, else vLLM's default port."""
    return os.environ.get("AGENTKIT_ENDPOINT") or DEFAULT_ENDPOINT


Notice = Callable[[str], None]


def http_llm(model: Any, endpoint: str, *, tracer: Any = None) -> LLM:
    """A native or server backend for ``endpoint``, per ``model.mode``."""
    from agentkit.llm.http import Endpoint
    from agentkit.llm.native import NativeBackend
    from agentkit.llm.server import ServerBackend

    backend = NativeBackend if (model.mode or "native") == "native" else ServerBackend
    return backend(
        Endpoint(endpoint, api_key=model.api_key, timeout=model.timeout or 600.0),
        model.name,
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
    """The model for a task: its endpoint; else a local server (found or launched); else, for the CLI, the
    task's scripted simulation, announced as such."""
    model = task.model
    notice = notice or (lambda line: log.warning(line))
    async with AsyncExitStack() as stack:
        llm: LLM
        if model.engine == "transformers":
            from agentkit.llm.transformers_engine import TransformersLLM

            llm = TransformersLLM(
                model.path or model.name, variant=model.variant, device=model.device, dtype=model.dtype
            )
        elif model.endpoint:
            llm = http_llm(model, model.endpoint, tracer=tracer)
        elif await _answers(default_endpoint()):
            llm = http_llm(model, default_endpoint(), tracer=tracer)
        else:
            endpoint, served = await _local_server(
                task, stack, allow_simulation=allow_simulation, notice=notice, keep=keep
            )
            llm = http_llm(model.model_copy(update={"name": served}), endpoint, tracer=tracer)
        stack.push_async_callback(llm.aclose)
        yield llm


async def _local_server(
    task: Any, stack: AsyncExitStack, *, allow_simulation: bool, notice: Notice, keep: bool
) -> tuple[str, str | None]:
    """Launch a server for the task's model, or fall back to its simulation script (CLI only).

    Returns the endpoint and the served model name (None: ask the server)."""
    model = task.model
    simulation = getattr(task, "simulation", None)
    reason = f"nothing answers at {default_endpoint()} and the task names no model.endpoint"
    if model.path or model.name:
        from agentkit.serving import ServingError, ensure_server

        try:
            server = await stack.enter_async_context(
                ensure_server(_serving_args(model), keep=keep, on_status=notice)
            )
            return server.base_url, server.model
        except ServingError as exc:
            if not (allow_simulation and simulation):
                raise LLMError(str(exc)) from exc
            reason = f"{reason}, and no server could be launched here ({exc})"
    if not (allow_simulation and simulation):
        raise EndpointUnreachable(
            f"{reason}. Start one (e.g. `python -m agentkit serve Qwen/Qwen3-8B`, or `vllm serve Qwen/Qwen3-8B "
            "--enable-auto-tool-choice --tool-call-parser hermes --reasoning-parser qwen3`) or set model.endpoint."
        )
    from agentkit.testing.simulator import run_simulator

    script = Path(task.base_dir, simulation)
    sim = await stack.enter_async_context(run_simulator(script))
    notice(
        f"SIMULATION: {reason}; replaying the scripted outputs of {script.name} on the built-in Qwen3 "
        "simulator (no model runs; set model.endpoint to use a real one)."
    )
    return sim.base_url, None


def _serving_args(model: Any) -> dict[str, Any]:
    keys = ("path", "name", "engine", "gpus", "port", "max_model_len", "api_key")
    return {k: getattr(model, k, None) for k in keys if getattr(model, k, None) is not None}


def _sampling_handler(llm: LLM) -> Callable[..., Any]:
    """Answer an MCP server's sampling request with our own model, thinking off."""

    async def handle(messages: list[dict[str, Any]], system_prompt: str | None, max_tokens: int) -> str:
        history = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + list(messages)
        request = ModelRequest(messages=history, thinking=False, max_tokens=max_tokens)
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

    notice = notice or (lambda line: log.warning(line))
    async with AsyncExitStack() as stack:
        llm = await stack.enter_async_context(
            open_llm(task, tracer=tracer, allow_simulation=allow_simulation, notice=notice, keep=keep_server)
        )
        resolved, policies = tools or resolve_tools(task)
        providers = []
        if task.mcp_servers:
            from agentkit.mcp import providers_from_config

            providers = providers_from_config(
                task.mcp_servers,
                sampling_handler=_sampling_handler(llm),
                elicitation_handler=elicitation_handler,
                on_log=(
                    lambda server, level, data: tracer.write(
                        "mcp.log", {"server": server, "level": level, "data": data}
                    )
                )
                if tracer
                else None,
            )
        toolset = await stack.enter_async_context(ToolSet(resolved, providers))
        for name, problem in toolset.provider_errors.items():
            notice(f"MCP server {name!r} did not start and is left out of this run: {problem}")
        yield Agent(
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
