"""Read an engine's log after a failed start and say, in one message, what went wrong and what to do."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from agentkit.serving.planner import Plan, next_plans


@dataclass(frozen=True, slots=True)
class Cause:
    kind: str
    patterns: tuple[str, ...]
    fatal: bool
    """Seen while the engine still runs, such a line means it will not recover: stop waiting at once."""


CAUSES = (
    Cause(
        "oom",
        (
            r"CUDA out of memory",
            r"OutOfMemoryError",
            r"No available memory for the cache blocks",
            r"larger than the maximum number of tokens that can be stored in KV cache",
            r"cudaErrorMemoryAllocation",
        ),
        True,
    ),
    Cause("port", (r"Address already in use", r"\[Errno 98\]"), True),
    Cause("architecture", (r"Model architectures? \[?.*\]? (are|is) not supported",), True),
    Cause("weights", (r"GatedRepoError", r"RepositoryNotFoundError", r"Cannot find any model weights"), True),
    Cause("gpu", (r"No CUDA GPUs are available", r"CUDA driver version is insufficient"), True),
    # Seen only in the log of an engine that already exited: these can also appear in harmless warnings.
    Cause("oom", (r"Not enough memory",), False),
    Cause(
        "weights",
        (
            r"Access to model .* is restricted",
            r"401 Client Error",
            r"LocalEntryNotFoundError",
            r"does not appear to have (a )?files? named",
            r"OfflineModeIsEnabled",
        ),
        False,
    ),
    Cause("gpu", (r"no kernel image is available", r"Failed to infer device type"), False),
    Cause("engine", (r"No module named '?(vllm|sglang)",), False),
)


def find_cause(text: str, *, fatal_only: bool = False) -> str | None:
    """The kind of failure ``text`` (log lines) shows, or None."""
    for cause in CAUSES:
        if (cause.fatal or not fatal_only) and any(re.search(p, text) for p in cause.patterns):
            return cause.kind
    return None


def first_fatal_line(lines: list[str]) -> str | None:
    """The first line showing the engine cannot recover (e.g. CUDA out of memory), or None."""
    return next((line for line in lines if find_cause(line, fatal_only=True)), None)


def _serve_cmd(model_arg: str, extra: list[str]) -> str:
    return shlex.join(["python", "-m", "agentkit", "serve", model_arg, *extra])


def diagnose(
    log_text: str,
    *,
    plan: Plan,
    model_arg: str,
    engine: str,
    port: int,
    log_path: str,
    returncode: int | None,
) -> str:
    """One message: what failed, why (from the log), and the next thing to run."""
    kind = find_cause(log_text)
    tail = "\n".join("    " + line for line in log_text.strip().splitlines()[-12:])
    how = f"exited with status {returncode}" if returncode is not None else "failed"
    head = f"{engine} {how} while starting {plan.model.name}"
    if kind == "oom":
        tries = next_plans(plan)
        lines = [
            f"{head}: out of GPU memory (TP {plan.tp}, max_model_len {plan.max_model_len}, "
            f"gpu_memory_utilization {plan.gpu_memory_utilization})."
        ]
        lines += [f"  next: {what}: `{_serve_cmd(model_arg, extra)}`" for what, extra in tries]
        if tries:
            lines.append(
                "  (add --keep to leave it running: `agentkit run` on a task with this model reuses it)"
            )
        message = "\n".join(lines)
    elif kind == "port":
        message = f"{head}: port {port} is already in use. Stop what uses it (`ss -ltnp 'sport = :{port}'`) or pass --port."
    elif kind == "architecture":
        message = (
            f"{head}: {engine} does not support the architecture {plan.model.architecture}. "
            f"Upgrade it (`pip install -U {engine}`) or use --engine {'sglang' if engine == 'vllm' else 'vllm'}."
        )
    elif kind == "weights":
        message = (
            f"{head}: the weights are missing or gated. Download them first (`hf download "
            f"{plan.model.name}`; gated models: `hf auth login` and accept the licence on the model "
            "page), or point MODEL at a folder that holds the *.safetensors files."
        )
    elif kind == "gpu":
        message = f"{head}: the engine cannot use the GPUs (driver or CUDA mismatch); check `nvidia-smi` and the CUDA build of {engine}."
    elif kind == "engine":
        message = f"{head}: the engine is not installed properly: `pip install -U {engine}`."
    else:
        message = f"{head}."
    return f"{message}\n  log: {log_path}\n  last lines:\n{tail}"
