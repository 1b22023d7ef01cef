"""A Qwen3 simulator: an OpenAI-compatible HTTP server that behaves like vLLM serving Qwen3, from a script.

It renders chat requests with the Qwen3 chat template, answers with scripted raw Qwen3 text (see
``agentkit.testing.script`` for the format), streams it in small chunks that split tags anywhere, parses
it server-side like vLLM's hermes / qwen3_coder tool parser and qwen3 reasoning parser, simulates the
prefix cache (``usage.prompt_tokens_details.cached_tokens``) and injects faults on demand
(``agentkit.testing.faults``). Every response says it is a simulation: ``system_fingerprint`` and
``owned_by`` are ``agentkit-simulator``, and an ``x-agentkit-simulator`` header is set.

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions``;
for tests ``GET /_sim/requests`` (recorded bodies), ``GET|POST /_sim/faults``, ``POST /_sim/reset``,
``GET /_sim/in_flight`` (generation requests in flight now, and the most at once).

In-process::

    async with run_simulator("script.yaml") as sim:      # or a dict / list of replies
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="EMPTY")

    with serve_in_thread({"replies": ["Hello."]}) as sim:  # sync, e.g. in a pytest fixture
        ...

From a shell: ``python -m agentkit.testing.simulator --script FILE --port N [--host 127.0.0.1]``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio

from agentkit.testing.script import Script, load_script

__all__ = ["RunningSimulator", "run_simulator", "serve_in_thread"]

_CUT_MESSAGE = "ASGI callable returned without completing response"


class _QuietCuts(logging.Filter):
    """Injected stream cuts are intended; keep uvicorn from logging them as errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_CUT_MESSAGE)


_QUIET_CUTS = _QuietCuts()


class RunningSimulator:
    """A simulator that is serving: its URLs and direct access to its state for test assertions."""

    def __init__(self, state: Any, host: str, port: int) -> None:
        self.state = state
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self.base_url = f"{self.url}/v1"

    @property
    def script(self) -> Script:
        return self.state.script

    def requests(self) -> list[dict[str, Any]]:
        """The recorded requests so far, oldest first: ``method``, ``path``, ``body``, ``time``, the response
        ``status``, and for served completions the ``usage`` sent back (with ``cached_tokens``)."""
        return list(self.state.requests)

    def set_faults(self, rules: Any) -> None:
        """Replace the live fault rules (a list of rule mappings, as in a script)."""
        self.state.set_faults(rules)

    def reset(self) -> None:
        """Forget recorded requests and the prefix cache; re-arm the script's faults."""
        self.state.reset()


def _server(script: Script, log_level: str) -> tuple[Any, Any]:
    import uvicorn

    from agentkit.testing.simulator.app import SimulatorState, build_app

    state = SimulatorState(script)
    config = uvicorn.Config(
        build_app(state),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    logging.getLogger("uvicorn.error").addFilter(_QUIET_CUTS)
    return uvicorn.Server(config), state


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"the simulator cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
        ) from None
    sock.set_inheritable(False)
    return sock


@asynccontextmanager
async def run_simulator(
    script: Script | dict[str, Any] | list[Any] | str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
) -> AsyncIterator[RunningSimulator]:
    """Serve ``script`` on ``host:port`` (a free port by default) until the block exits (asyncio only)."""
    server, state = _server(load_script(script), log_level)
    server.capture_signals = contextlib.nullcontext  # signals belong to the embedding program, not uvicorn
    sock = _bind(host, port)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            while not server.started:
                if server.should_exit:
                    raise RuntimeError(f"the simulator failed to start on {host}:{sock.getsockname()[1]}")
                await anyio.sleep(0.005)
            try:
                yield RunningSimulator(state, host, sock.getsockname()[1])
            finally:
                server.should_exit = True
    finally:
        sock.close()


@contextmanager
def serve_in_thread(
    script: Script | dict[str, Any] | list[Any] | str | Path, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningSimulator]:
    """``run_simulator`` on a background thread with its own event loop, for sync code and pytest fixtures."""
    ready = threading.Event()
    stop = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with run_simulator(script, host=host, port=port) as sim:
                box["sim"] = sim
                ready.set()
                while not stop.is_set():
                    await anyio.sleep(0.01)
        except BaseException as exc:
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=anyio.run, args=(main,), name="agentkit-simulator", daemon=True)
    thread.start()
    ready.wait()
    try:
        if "error" in box:
            raise box["error"]
        yield box["sim"]
    finally:
        stop.set()
        thread.join()
