"""``python -m agentkit batch task.yaml items.jsonl -o results.jsonl``: the batch command line.

Exit codes: 0 every item ran without ``status: error``; 1 some items failed (they are in the output) or
the batch could not run (no model endpoint); 2 a bad task, item file or flag; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _count(text: str) -> int:
    return 0 if text.strip() == "0" else _positive(text)


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "task", help="path to task.yaml (its prompt: may be a template such as 'Summarise {title}')"
    )
    p.add_argument(
        "items", help="items: .jsonl (one JSON object per line), .csv, or .parquet (needs pyarrow)"
    )
    p.add_argument("-o", "--output", required=True, help="results file (JSON Lines); a rerun resumes it")
    p.add_argument(
        "--concurrency", type=_positive, help="items in flight (default: per-endpoint x endpoints)"
    )
    p.add_argument(
        "--per-endpoint",
        type=_positive,
        help="model requests in flight per endpoint (default: the task's batch.per_endpoint, else 256)",
    )
    p.add_argument("--retries", type=_count, help="run a failed item (status: error) up to K more times")
    p.add_argument("--limit", type=_positive, help="run at most M of the items not yet in the output")
    p.add_argument(
        "--redo-errors", action="store_true", help="run again the items recorded with status: error"
    )
    p.add_argument(
        "--endpoint",
        action="append",
        metavar="URL",
        help="a model endpoint (repeat for replicas of one model); overrides model.endpoint",
    )
    p.add_argument(
        "--mcp-servers",
        choices=["shared", "per_item"],
        help="MCP servers started once per process (shared, the default) or for every item",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="shard the items over Ray actors (a cluster address, or none: $RAY_ADDRESS or a local cluster)",
    )
    p.add_argument("--workers", type=_positive, help="Ray actors (default: one per node of the cluster)")
    p.add_argument(
        "--local-endpoint",
        metavar="URL",
        help="with --ray: an endpoint each worker reaches on its own node (a vLLM per node), besides the shared ones",
    )


def batch_main(args: argparse.Namespace) -> int:
    import anyio
    from rich.console import Console

    from agentkit.batching import Batch, BatchInputError
    from agentkit.batching.engine import BatchFailed
    from agentkit.batching.progress import BatchProgress
    from agentkit.batching.stats import BatchStats, summary_text
    from agentkit.cli import _terminate_as_ctrl_c
    from agentkit.config import TaskError
    from agentkit.llm.errors import LLMError

    console = Console(stderr=True, highlight=False, soft_wrap=True)

    def notice(line: str) -> None:
        console.print(line, markup=False)

    if args.local_endpoint and args.ray is None:
        print("error: --local-endpoint applies to --ray workers; add --ray or remove it", file=sys.stderr)
        return 2
    try:
        run = Batch(
            args.task,
            args.items,
            output=args.output,
            concurrency=args.concurrency,
            per_endpoint=args.per_endpoint,
            retries=args.retries,
            limit=args.limit,
            redo_errors=args.redo_errors,
            endpoints=args.endpoint,
            mcp_servers=args.mcp_servers,
            ray=False if args.ray is None else args.ray,
            workers=args.workers,
            local_endpoint=args.local_endpoint,
            allow_simulation=True,
            notice=notice,
        )
    except (TaskError, BatchInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stats = BatchStats(run.skipped + len(run.todo), run.skipped)
    if run.results and run.results.dropped_partial:
        notice(f"{run.output}: its last line was cut off (a crash mid-write); that item runs again")
    if run.skipped:
        notice(
            f"{run.skipped} of {len(run.items)} items are already in {run.output}; running the other {len(run.todo)}"
        )

    async def main() -> None:
        progress = None if args.quiet or not run.todo else BatchProgress(stats, console)
        if progress:
            progress.__enter__()
        try:
            async for record in run:
                stats.add(record)
        finally:
            if progress:
                progress.__exit__(None, None, None)

    signal.signal(signal.SIGTERM, _terminate_as_ctrl_c)
    code = 0
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {stats.done} items finished are in {run.output}; run the same command to do the rest",
            file=sys.stderr,
        )
        code = 130
    except (LLMError, BatchInputError, BatchFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = stats.summary()
    if args.json:
        print(json.dumps({**summary, "output": str(run.output)}, ensure_ascii=False))
    elif stats.done or not code:  # a batch that failed before any item says why, above
        print(summary_text(summary, str(run.output)))
    if code:
        return code
    return 1 if stats.errors or summary["not_done"] else 0
