"""Engine detection (which vLLM/SGLang is installed, which version) and the command line for a plan.

Flags depend on the installed version: vLLM before 0.9.0 (0.8.5.post1 included) knows reasoning only as
``--enable-reasoning --reasoning-parser deepseek_r1``; from 0.9.0 ``--reasoning-parser qwen3`` alone
(``--enable-reasoning`` was deprecated then and removed in 0.10); ``qwen3_coder`` tool parsing
arrived in 0.10.0; Qwen3 itself needs vLLM ≥ 0.8.4 or SGLang ≥ 0.4.6.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

from agentkit.serving.errors import ServingError
from agentkit.serving.planner import Plan, Replica

Version = tuple[int, int, int]
QWEN3_MIN = {"vllm": (0, 8, 4), "sglang": (0, 4, 6)}
VLLM_QWEN3_REASONING = (0, 9, 0)
"""First vLLM with the ``qwen3`` reasoning parser and without the need for ``--enable-reasoning``."""
VLLM_QWEN3_CODER = (0, 10, 0)
"""First vLLM with the ``qwen3_coder`` tool-call parser."""


@dataclass(frozen=True, slots=True)
class Engine:
    """An installed serving engine: its name, version and how to start it."""

    name: str
    version: Version
    version_text: str
    launcher: tuple[str, ...]
    """The argv prefix that starts a server (``vllm serve`` or ``python -m sglang.launch_server``)."""


def parse_version(text: str) -> Version | None:
    """The last ``X.Y.Z`` in ``text`` (engines may print log lines before it)."""
    found = re.findall(r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not found:
        return None
    major, minor, patch = found[-1]
    return int(major), int(minor), int(patch or 0)


def _ask(args: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired as exc:
        raise ServingError(f"{what} did not answer within 180 s; check the installation.") from exc
    except OSError as exc:
        raise ServingError(f"cannot run {what}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ServingError(f"{what} failed: {' | '.join(tail) or f'exit {done.returncode}'}")
    return done.stdout


def detect_engine(name: str, env: dict[str, str] | None = None) -> Engine:
    """Find ``name`` (vllm or sglang) as installed here and ask it its version."""
    env = dict(os.environ if env is None else env)
    if name == "vllm":
        exe = shutil.which("vllm", path=env.get("PATH"))
        if exe is None:
            raise ServingError(
                "vLLM is not installed: no `vllm` on PATH. Install it with `pip install vllm` (Linux + NVIDIA "
                "GPU), or use SGLang (--engine sglang; `engine: sglang` in a task), or point model.endpoint at a running server."
            )
        text = _ask([exe, "--version"], env, "`vllm --version`")
        launcher: tuple[str, ...] = (exe, "serve")
    elif name == "sglang":
        python = env.get("AGENTKIT_SGLANG_PYTHON") or sys.executable
        try:
            text = _ask([python, "-c", "import sglang; print(sglang.__version__)"], env, "SGLang")
        except ServingError as exc:
            raise ServingError(
                f'SGLang is not installed for {python}: `pip install "sglang[all]"`, or set '
                "AGENTKIT_SGLANG_PYTHON to the Python that has it, or use --engine vllm."
            ) from exc
        launcher = (python, "-m", "sglang.launch_server")
    else:
        raise ServingError(
            f"unknown engine {name!r}: use vllm or sglang (or `engine: transformers` in a task)."
        )
    version = parse_version(text)
    if version is None:
        raise ServingError(f"cannot read {name}'s version from {text.strip()[-200:]!r}.")
    return Engine(name=name, version=version, version_text=".".join(map(str, version)), launcher=launcher)


def check_engine_supports(engine: Engine, architecture: str) -> None:
    """Fail early when the installed engine predates the model's architecture."""
    minimum = QWEN3_MIN[engine.name]
    if architecture.startswith("Qwen3") and engine.version < minimum:
        wanted = ".".join(map(str, minimum))
        package = "vllm" if engine.name == "vllm" else '"sglang[all]"'
        raise ServingError(
            f"{engine.name} {engine.version_text} predates Qwen3 ({architecture} needs {engine.name} ≥ {wanted}): "
            f"`pip install -U {package}`."
        )


def vllm_parser_flags(family: str, version: Version) -> list[str]:
    """Tool-call and reasoning parser flags for a Qwen3 family on this vLLM version."""
    if family == "coder":
        return [
            "--enable-auto-tool-choice",
            "--tool-call-parser",
            "qwen3_coder" if version >= VLLM_QWEN3_CODER else "hermes",
        ]
    flags = ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    if family == "instruct-2507":
        return flags
    if version >= VLLM_QWEN3_REASONING:
        # Thinking-2507's output lacks the opening <think> (the prompt holds it): its model card's parser.
        return flags + ["--reasoning-parser", "deepseek_r1" if family == "thinking-2507" else "qwen3"]
    if version >= (0, 7, 1):
        return flags + ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]
    return flags


def _version(version: Version) -> str:
    return ".".join(map(str, version))


def parser_flags_reason(family: str, engine: Engine) -> str:
    """Why the parser flags are what they are, for this family on this engine and version (in words)."""
    if engine.name == "sglang":
        if family == "coder":
            return "Qwen3-Coder: tool calls parsed by SGLang's qwen3_coder parser; it never thinks"
        reasoning = {
            "instruct-2507": "no reasoning parser (Instruct-2507 never thinks)",
            "thinking-2507": "reasoning parser deepseek-r1 (Thinking-2507's output has no opening <think>)",
        }.get(family, "reasoning parser qwen3")
        return f"tool calls parsed by SGLang's qwen25 (hermes-style) parser; {reasoning}"
    known = "" if engine.version_text != "newest" else " (the newest vLLM's names)"
    if family == "coder":
        if engine.version >= VLLM_QWEN3_CODER:
            return f"Qwen3-Coder: tool calls parsed by vLLM's qwen3_coder parser{known}; it never thinks"
        return (
            f"Qwen3-Coder: vLLM {engine.version_text} predates the qwen3_coder tool parser "
            f"({_version(VLLM_QWEN3_CODER)}), so hermes; agentkit's native mode parses the XML calls itself"
        )
    if family == "instruct-2507":
        return f"tool calls parsed by hermes{known}; no reasoning parser (Instruct-2507 never thinks)"
    if engine.version >= VLLM_QWEN3_REASONING:
        if family == "thinking-2507":
            return (
                f"tool calls parsed by hermes; reasoning parser deepseek_r1{known} (Thinking-2507's output has "
                "no opening <think>: its model card's parser)"
            )
        return f"tool calls parsed by hermes; reasoning parser qwen3{known}"
    return (
        f"tool calls parsed by hermes; vLLM {engine.version_text} predates the qwen3 reasoning parser "
        f"({_version(VLLM_QWEN3_REASONING)}), so `--enable-reasoning --reasoning-parser deepseek_r1`"
    )


def sglang_parser_flags(family: str) -> list[str]:
    """Tool-call and reasoning parser flags for a Qwen3 family on SGLang."""
    if family == "coder":
        return ["--tool-call-parser", "qwen3_coder"]
    flags = ["--tool-call-parser", "qwen25"]
    if family == "instruct-2507":
        return flags
    return flags + ["--reasoning-parser", "deepseek-r1" if family == "thinking-2507" else "qwen3"]


def build_command(
    plan: Plan,
    replica: Replica,
    engine: Engine,
    *,
    model_arg: str,
    served_name: str,
    host: str = "127.0.0.1",
    api_key: str | None = None,
) -> list[str]:
    """The argv that starts one replica of ``plan`` on ``engine``."""
    family = plan.model.family
    if engine.name == "vllm":
        cmd = [*engine.launcher, model_arg, "--served-model-name", served_name, "--host", host]
        cmd += ["--port", str(replica.port)]
        if plan.tp > 1:
            cmd += ["--tensor-parallel-size", str(plan.tp)]
        if plan.pp > 1:
            cmd += ["--pipeline-parallel-size", str(plan.pp)]
        if plan.expert_parallel:
            cmd.append("--enable-expert-parallel")
        if plan.ray:
            cmd += ["--distributed-executor-backend", "ray"]
        cmd += ["--max-model-len", str(plan.max_model_len)]
        cmd += ["--gpu-memory-utilization", str(plan.gpu_memory_utilization)]
        cmd += vllm_parser_flags(family, engine.version)
    else:
        if plan.ray:
            raise ServingError(
                "multi-node plans run on vLLM with Ray; SGLang's own multi-node launch (--nnodes, "
                "--dist-init-addr) is not driven by agentkit. Use --engine vllm."
            )
        cmd = [
            *engine.launcher,
            "--model-path",
            model_arg,
            "--served-model-name",
            served_name,
            "--host",
            host,
        ]
        cmd += ["--port", str(replica.port)]
        if plan.tp > 1:
            cmd += ["--tp", str(plan.tp)]
        if plan.expert_parallel:
            cmd += ["--ep-size", str(plan.tp)] if engine.version >= (0, 5, 0) else ["--enable-ep-moe"]
        cmd += ["--context-length", str(plan.max_model_len)]
        cmd += ["--mem-fraction-static", str(plan.gpu_memory_utilization)]
        cmd += sglang_parser_flags(family)
    if api_key:
        cmd += ["--api-key", api_key]
    return cmd


def engine_env(replica: Replica, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment one replica runs in: only its own GPUs visible, numbered as nvidia-smi numbers them."""
    env = dict(os.environ if base is None else base)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, replica.gpus))
    return env
