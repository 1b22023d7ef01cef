"""``ensure_server``: reuse a server that already serves the model, else plan, launch, wait, and clean up."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agentkit.serving.diagnose import diagnose
from agentkit.serving.errors import ServingError
from agentkit.serving.launcher import ServerProcess, StartFailed, StatusCallback, wait_ready
from agentkit.serving.spec import LaunchSpec, ServeOptions, connect_host, prepare, shown

SEARCHED_PORTS = 16
"""Without an asked port, how many ports from the default are searched for a server to reuse."""


@dataclass(frozen=True, slots=True)
class ServingHandle:
    """A ready OpenAI-compatible endpoint (one or several replicas of the same model)."""

    base_url: str
    """The first replica's …/v1 URL."""
    model: str
    """The served model name to put in requests."""
    max_model_len: int | None
    replicas: tuple[str, ...]
    """Every replica's …/v1 URL (one unless data-parallel servers were started)."""
    api_key: str | None = None
    started: bool = False
    """True when agentkit launched it (and stops it at exit unless kept)."""
    log_dir: str | None = None


async def _served_models(client: Any, base_url: str) -> list[dict[str, Any]] | None:
    """The model cards ``base_url``/models lists, or None when nothing (OpenAI-like) answers there."""
    import httpx

    try:
        response = await client.get(base_url + "/models")
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200 or not isinstance(body, dict):
        return None
    return [m for m in body.get("data", []) if isinstance(m, dict)]


async def find_running(opts: ServeOptions) -> ServingHandle | None:
    """A server (and its consecutive-port replicas) already serving this model on the local port.

    An asked port must serve the model or nothing (else: an error); without one, the ports from the
    default on are searched, since a launch moves past ports that other servers hold.
    """
    import httpx

    host = connect_host(opts.host)
    port = opts.port or ServeOptions.DEFAULT_PORT
    headers = {"Authorization": f"Bearer {opts.api_key}"} if opts.api_key else {}
    wanted = {opts.served_name, opts.model_arg}
    urls: list[str] = []
    max_len = None
    async with httpx.AsyncClient(timeout=httpx.Timeout(3.0), headers=headers) as client:
        for p in range(port, port + 64):
            url = f"http://{host}:{p}/v1"
            models = await _served_models(client, url)
            match = [m for m in models or [] if m.get("id") in wanted]
            if match:
                urls.append(url)
                max_len = max_len or match[0].get("max_model_len")
                continue
            if urls:
                break  # the end of this model's consecutive replicas
            if opts.port_given:
                if models is not None:
                    names = ", ".join(str(m.get("id")) for m in models) or "nothing"
                    raise ServingError(
                        f"port {p} already serves {names}, not {opts.served_name}: pass another port "
                        "(or stop that server)."
                    )
                break
            if p >= port + SEARCHED_PORTS:
                break
    if not urls:
        return None
    return ServingHandle(
        base_url=urls[0],
        model=opts.served_name,
        max_model_len=max_len,
        replicas=tuple(urls),
        api_key=opts.api_key,
    )


async def start_servers(
    spec: LaunchSpec,
    *,
    keep: bool = False,
    on_status: StatusCallback | None = None,
    status_every: float = 5.0,
) -> tuple[list[ServerProcess], str]:
    """Start every replica of ``spec`` and wait until all answer /health (progress every ``status_every`` s).

    On any failure, stops them all and raises one diagnosed :class:`ServingError`.
    Returns the servers and the run folder holding their logs.
    """
    import anyio

    run_dir = spec.run_dir()
    servers = []
    for replica, cmd, env in zip(spec.replicas, spec.commands, spec.envs):
        host = connect_host(spec.options.host)
        log = run_dir / f"{spec.engine.name}-{replica.port}.log"
        servers.append(ServerProcess(cmd, env, log, f"http://{host}:{replica.port}", keep=keep))
    (run_dir / "commands.txt").write_text("".join(shown(s.argv) + "\n" for s in servers))
    failures: list[str] = []

    async def wait_one(i: int, server: ServerProcess, cancel: anyio.CancelScope) -> None:
        def status(text: str) -> None:
            if on_status:
                on_status(
                    f"{spec.engine.name} replica {i + 1}/{len(servers)} (GPUs {server.env['CUDA_VISIBLE_DEVICES']}) {text}"
                )

        try:
            await wait_ready(
                server,
                timeout=spec.options.timeout,
                on_status=status,
                api_key=spec.api_key,
                status_every=status_every,
            )
        except StartFailed as exc:
            if exc.reason == "fatal":
                await anyio.sleep(0.5)  # let the engine finish writing its traceback
            server.new_log_lines()
            if exc.reason == "timeout":
                serve = shlex.join(
                    ["python", "-m", "agentkit", "serve", spec.options.model_arg, "--timeout", "SECONDS"]
                )
                failures.append(
                    f"{spec.engine.name} did not become ready within {spec.options.timeout:.0f} s (last line: "
                    f"{server.last_line!r}); log: {server.log_path}. If the weights are still loading, allow "
                    f"longer: `{serve}` (a task with this model then reuses that server)."
                )
            else:
                failures.append(
                    diagnose(
                        server.log_text(),
                        plan=spec.plan,
                        model_arg=spec.options.model_arg,
                        engine=spec.engine.name,
                        port=spec.replicas[i].port,
                        log_path=str(server.log_path),
                        returncode=server.returncode(),
                    )
                )
            cancel.cancel()

    try:
        for server in servers:
            server.start()
        async with anyio.create_task_group() as tg:
            for i, server in enumerate(servers):
                tg.start_soon(wait_one, i, server, tg.cancel_scope)
    except BaseException:
        await _stop(servers)
        raise
    if failures:
        await _stop(servers)
        raise ServingError(failures[0])
    if keep:
        for server in servers:
            server.release()
    return servers, str(run_dir)


async def _stop(servers: list[ServerProcess]) -> None:
    import anyio

    with anyio.CancelScope(shield=True):
        async with anyio.create_task_group() as tg:
            for server in servers:
                tg.start_soon(anyio.to_thread.run_sync, server.stop)


@asynccontextmanager
async def ensure_server(
    model: dict[str, Any], *, keep: bool = False, on_status: StatusCallback | None = None
) -> AsyncIterator[ServingHandle]:
    """Yield a ready endpoint for ``model`` (a task's ``model:`` mapping); stop what was started on exit.

    Reuses a server already serving the model on the local port; otherwise plans and launches one (or
    several data-parallel replicas) with the engine on PATH. Every failure is one :class:`ServingError`.
    """
    opts = ServeOptions.from_model(model)
    running = await find_running(opts)
    if running:
        if on_status:
            on_status(f"reusing {running.model} at {', '.join(running.replicas)}")
        yield running
        return
    import anyio

    spec = await anyio.to_thread.run_sync(lambda: prepare(opts))
    if on_status:
        on_status(spec.describe())
    servers, run_dir = await start_servers(spec, keep=keep, on_status=on_status)
    urls = spec.base_urls()
    handle = ServingHandle(
        base_url=urls[0],
        model=opts.served_name,
        max_model_len=spec.plan.max_model_len,
        replicas=tuple(urls),
        api_key=spec.api_key,
        started=True,
        log_dir=run_dir,
    )
    try:
        yield handle
    finally:
        if not keep:
            await _stop(servers)
        elif on_status:
            groups = " ".join(f"-{s.pid}" for s in servers)
            on_status(
                f"left running: {opts.served_name} at {', '.join(urls)} (logs in {run_dir}); "
                f"stop it with `kill -TERM -- {groups}`"
            )
