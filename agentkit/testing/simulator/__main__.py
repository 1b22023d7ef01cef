"""``python -m agentkit.testing.simulator --script FILE --port N``: serve a script until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys

import anyio

from agentkit.testing.script import load_script
from agentkit.testing.simulator import run_simulator
from agentkit.testing.validation import ScriptError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentkit.testing.simulator",
        description="Serve a scripted Qwen3 simulation with vLLM's OpenAI-compatible API (no model runs).",
    )
    parser.add_argument(
        "--script", required=True, help="YAML or JSON script of replies (see docs/simulator.md)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (0: a free one; default 8000)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        async with run_simulator(script, host=args.host, port=args.port, log_level=args.log_level) as sim:
            print(
                f"agentkit simulator (scripted replay of {args.script}, not a model) serving "
                f"{script.model!r} at {sim.base_url}",
                flush=True,
            )
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    return

    try:
        anyio.run(serve)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
