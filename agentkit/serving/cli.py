"""``python -m agentkit serve MODEL``: explain the plan (--dry-run, --json) or launch and serve until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import sys
import time

from agentkit.serving.errors import ServingError


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's arguments."""
    parser.add_argument(
        "model", metavar="MODEL", help="local model folder (with config.json) or Hugging Face name"
    )
    parser.add_argument(
        "--engine", choices=["vllm", "sglang"], default="vllm", help="serving engine (default vllm)"
    )
    parser.add_argument(
        "--gpus",
        help="GPU indices to use, e.g. 0,1,2,3 or 0-3 (default: all visible); with --dry-run also GPUs to "
        "plan for: 4xH100-80GB, 8x141, 2x8xH200 (nodes x GPUs x kind)",
    )
    parser.add_argument(
        "--port", type=int, help="port of the first server (default 8000; replicas take the next)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others get an API key)"
    )
    parser.add_argument("--max-model-len", type=int, help="context length (default: the model's, if it fits)")
    parser.add_argument("--tp", type=int, help="tensor parallel size (default: the smallest that fits)")
    parser.add_argument(
        "--gpu-memory-utilization",
        type=float,
        help="fraction of each GPU the engine may use (default: vLLM 0.9; SGLang chooses its own "
        "--mem-fraction-static, which covers weights and KV cache only)",
    )
    parser.add_argument(
        "--data-parallel",
        choices=["auto", "replicas", "engine"],
        default="auto",
        help="several servers (replicas) or vLLM's own --data-parallel-size with expert parallelism "
        "(engine); default auto: vLLM's for a MoE model too large for one GPU, replicas otherwise",
    )
    parser.add_argument("--api-key", help="API key the server requires")
    parser.add_argument("--name", help="served model name (default: the Hugging Face name or folder name)")
    parser.add_argument(
        "--variant",
        choices=["hybrid", "thinking-2507", "instruct-2507", "coder"],
        help="Qwen3 family for the parser flags (default: from the model's name)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for readiness (default 1800)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="explain the plan and print the command; start nothing"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the plan (--dry-run) or the ready endpoint as one JSON object",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the server running and return once it is ready"
    )


def _options(args: argparse.Namespace):  # -> ServeOptions
    from pathlib import Path

    from agentkit.serving.spec import ServeOptions

    local = Path(args.model).expanduser().is_dir()
    return ServeOptions(
        path=args.model if local else None,
        name=args.name or (None if local else args.model),
        engine=args.engine,
        gpus=args.gpus,
        port=args.port,
        host=args.host,
        max_model_len=args.max_model_len,
        api_key=args.api_key,
        tp=args.tp,
        variant=args.variant,
        gpu_memory_utilization=args.gpu_memory_utilization,
        data_parallel=args.data_parallel,
        timeout=args.timeout,
    )


class _LiveLine:
    """One status line, rewritten in place on a terminal, printed every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, text: str) -> None:
        if "\n" in text:
            self.clear()
            print(text, file=sys.stderr, flush=True)
        elif self.tty:
            width = 120
            sys.stderr.write("\r\033[K" + text[:width])
            sys.stderr.flush()
        elif time.monotonic() - self.last > 10:
            self.last = time.monotonic()
            print(text, file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def serve_main(args: argparse.Namespace) -> int:
    """Run ``serve``; returns the exit status. Errors print one message, never a traceback."""
    import anyio

    from agentkit.serving.spec import prepare

    live = _LiveLine()
    try:
        opts = _options(args)
        spec = prepare(opts, dry_run=args.dry_run)
        if args.dry_run:
            print(
                json.dumps(spec.to_dict(), indent=None if args.json else 2) if args.json else spec.describe()
            )
            return 0
        print(spec.describe(), file=sys.stderr)
        return anyio.run(_serve, spec, args, live)
    except ServingError as exc:
        live.clear()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        live.clear()
        print("stopped.", file=sys.stderr)
        return 130


async def _serve(spec, args: argparse.Namespace, live: _LiveLine) -> int:  # spec: LaunchSpec
    import anyio

    from agentkit.serving.ensure import start_servers

    keep = args.keep
    servers, run_dir = await start_servers(
        spec, keep=keep, on_status=live, status_every=0.25 if live.tty else 10.0
    )
    live.clear()
    urls = spec.base_urls()
    groups = " ".join(f"-{s.pid}" for s in servers)
    if args.json:
        ready = {
            "model": spec.options.served_name,
            "base_url": urls[0],
            "replicas": urls,
            "max_model_len": spec.plan.max_model_len,
            "api_key": spec.api_key,
            "log_dir": run_dir,
            "process_groups": [s.pid for s in servers],
        }
        print(json.dumps(ready), flush=True)
    else:
        key = f" (API key {spec.api_key})" if spec.api_key else ""
        print(f"ready: {spec.options.served_name} at {', '.join(urls)}{key}; logs in {run_dir}", flush=True)
    if keep:
        print(f"left running; stop it with `kill -TERM -- {groups}`", file=sys.stderr, flush=True)
        return 0
    print("serving until Ctrl-C", file=sys.stderr, flush=True)
    try:
        while True:
            for server in servers:
                if server.returncode() is not None:
                    server.new_log_lines()
                    print(
                        f"error: the server on {server.url} exited with status {server.returncode()}; "
                        f"last line: {server.last_line!r}; log: {server.log_path}",
                        file=sys.stderr,
                    )
                    return 1
            await anyio.sleep(1.0)
    finally:
        with anyio.CancelScope(shield=True):
            for server in servers:
                await anyio.to_thread.run_sync(server.stop)
