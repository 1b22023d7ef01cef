"""The composition root: a task's model endpoint, tools and MCP servers put together into an ``Agent``."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.agent.loop import Agent, Approver
from agentkit.llm.errors import EndpointUnreachable
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


def _task_path(task: Any, place: str) -> Path:
    return Path(place) if Path(place).is_absolute() else task.base_dir / place


def exact_counter(task: Any, llm: LLM) -> Any:
    """Exact prompt token counts for the context policy: the task's tokenizer or model folder (with the
    ``tokenizers`` package), else the server's ``/tokenize``; None leaves the approximation."""
    from agentkit.context import tokenizer_counter
    from agentkit.context.counting import first_exact

    if task.context.tokenizer:  # named: it must be there
        return tokenizer_counter(_task_path(task, task.context.tokenizer))
    if task.model.path and (_task_path(task, task.model.path) / "tokenizer.json").is_file():
        try:
            return tokenizer_counter(_task_path(task, task.model.path))
        except ImportError:
            pass
    endpoint = getattr(llm, "endpoint", None)
    if endpoint is None or not hasattr(endpoint, "count_tokens"):
        return None

    async def tokenize(text: str) -> int | None:
        return await endpoint.count_tokens(llm.model, text)

    return first_exact(tokenize)


SIMULATOR_MARK = "agentkit-simulator"
"""What agentkit's simulator puts in ``owned_by`` of ``/v1/models`` (and its ``x-agentkit-simulator`` header)."""


class SimulationNotice(str):
    """The notice that the run's model is agentkit's simulator: one line, with ``details`` for ``--verbose``."""

    details: str

    def __new__(cls, line: str, details: str = "") -> SimulationNotice:
        notice = super().__new__(cls, line)
        notice.details = details
        return notice


@dataclass(frozen=True, slots=True)
class _Probe:
    """What answered ``GET …/models``: the served model names, and whether it is agentkit's simulator."""

    models: tuple[str, ...]
    simulator: bool


async def _probe(endpoint: str, api_key: str | None = None) -> _Probe | None:
    """Ask ``endpoint``/models; None when nothing OpenAI-like answers there."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx.AsyncClient(timeout=2.0, headers=headers) as client:
            response = await client.get(endpoint.rstrip("/") + "/models")
            body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    cards = [m for m in body.get("data") or [] if isinstance(m, dict)]
    simulator = "x-agentkit-simulator" in response.headers or any(
        m.get("owned_by") == SIMULATOR_MARK for m in cards
    )
    return _Probe(tuple(str(m.get("id")) for m in cards), simulator)


def _reused_simulator(endpoint: str) -> SimulationNotice:
    return SimulationNotice(
        f"SIMULATION: {endpoint} is agentkit's simulator, not a model (--verbose for details)",
        f"The server at {endpoint} says so in every response (owned_by: {SIMULATOR_MARK} in /v1/models, "
        "an x-agentkit-simulator header). It replays a script; no model runs there. Stop it and start a "
        "real server (vllm serve ...), or point model.endpoint at one.",
    )


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

    Whatever endpoint is chosen, a server that says it is agentkit's simulator is announced as a
    simulation (a ``SimulationNotice``). With none of them, the error lists what was tried and the fixes.
    """
    model = task.model
    notice = notice or log.warning
    env_endpoint = os.environ.get("AGENTKIT_ENDPOINT")
    async with AsyncExitStack() as stack:
        llm: LLM
        checked: str | None = None  # the endpoint chosen, to ask whether it is our simulator
        answered: _Probe | None = None  # what it said when asked already
        tried: list[str] = []
        if model.engine == "transformers":
            from agentkit.llm.transformers_engine import TransformersLLM

            llm = TransformersLLM(
                model.path or model.name, variant=model.variant, device=model.device, dtype=model.dtype
            )
        elif model.endpoint:
            llm = http_llm(model, model.endpoint, tracer=tracer)
            # replicas serve one model: the first one says whether it is agentkit's simulator
            checked = model.endpoint if isinstance(model.endpoint, str) else model.endpoint[0]
        else:
            tried.append("model.endpoint: not set in the task")
            env_probe = None
            if not env_endpoint:
                tried.append("$AGENTKIT_ENDPOINT: not set")
            elif not env_endpoint.startswith(("http://", "https://")):
                tried.append(
                    f"$AGENTKIT_ENDPOINT={env_endpoint}: not an http:// or https:// URL "
                    f"(write e.g. http://{env_endpoint.removesuffix('/')}/v1)"
                )
            else:
                env_probe = await _probe(env_endpoint, model.api_key)
                if env_probe is None:
                    tried.append(f"$AGENTKIT_ENDPOINT={env_endpoint}: nothing answers there")
            default_probe = None if env_probe else await _probe(DEFAULT_ENDPOINT, model.api_key)
            if env_endpoint and env_probe is not None:
                llm = http_llm(model, env_endpoint, tracer=tracer)
                checked, answered = env_endpoint, env_probe
            elif not (model.path or model.name) and default_probe is not None:
                llm = http_llm(model, DEFAULT_ENDPOINT, tracer=tracer)
                checked, answered = DEFAULT_ENDPOINT, default_probe
            else:
                wanted = model.path or model.name
                if default_probe is None or wanted not in default_probe.models:
                    tried.append(_default_port_finding(default_probe, wanted))
                urls, served, reused = await _local_server(
                    task, stack, tried, allow_simulation=allow_simulation, notice=notice, keep=keep
                )
                llm = http_llm(model, urls, name=served, tracer=tracer)
                checked = urls[0] if reused else None
        stack.push_async_callback(llm.aclose)
        if checked is not None:
            probe = answered or await _probe(checked, model.api_key)
            if probe is not None and probe.simulator:
                notice(_reused_simulator(checked))
        if model.path and model.mode == "native" and Path(model.path).is_dir():
            from agentkit.qwen3.model_template import template_if_ours_differs

            llm.chat_template = template_if_ours_differs(model.path, llm.variant)
        yield llm


def _default_port_finding(probe: _Probe | None, wanted: str | None) -> str:
    where = DEFAULT_ENDPOINT
    if probe is None:
        return f"a server at {where}: nothing answers there"
    served = ", ".join(probe.models) or "no model"
    return f"a server at {where}: it serves {served}, not {wanted}"


async def _local_server(
    task: Any, stack: AsyncExitStack, tried: list[str], *, allow_simulation: bool, notice: Notice, keep: bool
) -> tuple[list[str], str | None, bool]:
    """A server for the task's model (reused or launched), else its simulation script (CLI only).

    Returns the endpoints (replicas of one model), the served model name (None: ask the server) and
    whether the server was found running (not launched here). ``tried`` lists what was tried so far."""
    model = task.model
    can_simulate = allow_simulation and task.simulation
    wanted = model.path or model.name
    if wanted:
        from agentkit.serving import ServingError, ensure_server

        try:
            server = await stack.enter_async_context(
                ensure_server(model.serving_args(), keep=keep, on_status=notice)
            )
            return list(server.replicas or [server.base_url]), server.model, not server.started
        except ServingError as exc:
            tried.append(f"a local model ({wanted}) served by agentkit: {str(exc).rstrip('.')}")
    if not can_simulate:
        raise EndpointUnreachable(no_model_message(task, tried))
    from agentkit.testing.simulator import run_simulator

    script = Path(task.base_dir, task.simulation)
    sim = await stack.enter_async_context(run_simulator(script))
    notice(
        SimulationNotice(
            f"SIMULATION: no model answered; replaying {script.name} on the built-in simulator, no model runs "
            "(--verbose: why, and how to use a real one)",
            "Tried, in order:\n"
            + "".join(f"  {i}. {line}\n" for i, line in enumerate(tried, 1))
            + _fixes(task),
        )
    )
    return [sim.base_url], None, False


def _fixes(task: Any) -> str:
    """How to give a task a real model: the commands that do it."""
    model = task.model
    name = model.name or "Qwen/Qwen3-8B"
    served = shlex.quote(model.path or name)
    lines = [
        f"start a server: `vllm serve {served} --port 8000 --enable-auto-tool-choice --tool-call-parser hermes "
        f"--reasoning-parser qwen3` (or `python -m agentkit serve {served}`); this task then finds it",
        "set model.endpoint in the task (e.g. `endpoint: http://HOST:8000/v1`) or export AGENTKIT_ENDPOINT",
        f"let agentkit serve a local model: `hf download {name}` (with vLLM or SGLang installed and a GPU), "
        "or `model.path: /path/to/model` (`engine: transformers` runs it in process, on the CPU too)",
    ]
    if not task.simulation:
        lines.append(
            "to try agentkit without a model, add `simulation: replay.yaml` (a scripted replay, see "
            "docs/simulator.md)"
        )
    return "Fixes:\n" + "".join(f"  - {line}\n" for line in lines)


def no_model_message(task: Any, tried: list[str]) -> str:
    """The error when no model can be found: what was tried, in order, and the fixes."""
    steps = "".join(f"\n  {i}. {line}" for i, line in enumerate(tried, 1))
    return f"no model to run this task. Tried, in order:{steps}\n{_fixes(task).rstrip()}"


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
    authorization_handler: Callable[..., Any] | None = None,
    keep_server: bool = False,
    tools: tuple[list[Any], dict[str, Any]] | None = None,
) -> AsyncIterator[Agent]:
    """An ``Agent`` for a loaded task, with its model endpoint and tool servers up; all closed on exit.

    ``tools``: the task's tools and policies already resolved (``agentkit.config.resolve_tools``)."""
    from agentkit.config import resolve_tools

    resolved, policies = tools or resolve_tools(task)  # a bad tool entry fails before any model is sought
    said = notice or log.warning
    simulation: list[SimulationNotice] = []

    def notice(line: str) -> None:
        if isinstance(line, SimulationNotice):
            simulation.append(line)
        said(line)

    async with AsyncExitStack() as stack:
        llm = await stack.enter_async_context(
            open_llm(task, tracer=tracer, allow_simulation=allow_simulation, notice=notice, keep=keep_server)
        )
        toolset = await stack.enter_async_context(
            open_toolset(
                task,
                llm,
                resolved,
                tracer=tracer,
                notice=notice,
                elicitation_handler=elicitation_handler,
                authorization_handler=authorization_handler,
            )
        )
        agent = make_agent(task, llm, toolset, policies, approve=approve)
        agent.simulation = simulation[0] if simulation else None
        yield agent


@asynccontextmanager
async def open_toolset(
    task: Any,
    llm: LLM,
    resolved: list[Any],
    *,
    tracer: Any = None,
    notice: Notice | None = None,
    elicitation_handler: Callable[..., Any] | None = None,
    authorization_handler: Callable[..., Any] | None = None,
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
            authorization_handler=authorization_handler,
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
        context=task.context.policy(),
        count_tokens=exact_counter(task, llm),
    )
