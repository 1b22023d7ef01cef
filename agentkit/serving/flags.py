"""Engine detection (which vLLM/SGLang is installed, which version, how that was learned) and the command
line for a plan.

Flags depend on the installed version (gates in :mod:`agentkit.serving.enginefacts`): vLLM before 0.9.0
knows reasoning only as ``--enable-reasoning --reasoning-parser deepseek_r1``, ``qwen3_coder`` arrived in
0.10.0; SGLang's ``qwen3`` reasoning parser in 0.4.6.post1, ``qwen3_coder`` in 0.4.9.post4 and the ``qwen``
tool-call parser (``qwen25`` deprecated) in 0.5.4.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agentkit.serving.enginefacts import (
    NEWEST_KNOWN,
    QWEN3_MIN,
    SGLANG_EP_SIZE,
    SGLANG_QWEN3_CODER,
    SGLANG_QWEN3_REASONING,
    SGLANG_QWEN_TOOL_PARSER,
    VLLM_ENABLE_REASONING,
    VLLM_QWEN3_CODER,
    VLLM_QWEN3_REASONING,
    Version,
    parse_version,
    version_text,
)
from agentkit.serving.errors import ServingError
from agentkit.serving.planner import Plan, Replica

__all__ = ["Engine", "assumed_engine", "build_command", "detect_engine", "parse_version"]

METADATA_SNIPPET = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
PIP_TRAMPOLINE = "'''exec'"


@dataclass(frozen=True, slots=True)
class Engine:
    """A serving engine: its name, version, how it starts and how agentkit learned the version."""

    name: str
    version: Version
    version_text: str
    launcher: tuple[str, ...]
    """The argv prefix that starts a server (``vllm serve`` or ``python -m sglang.launch_server``)."""
    source: str = ""
    """How the version was learned, in words (package metadata, ``--version``, assumed)."""

    @property
    def newer_than_known(self) -> bool:
        return self.version > NEWEST_KNOWN[self.name]

    def planned_for(self) -> str:
        """The version the flags are for and where that version came from, in words."""
        text = f"{self.name} {self.version_text}" + (f" ({self.source})" if self.source else "")
        if self.newer_than_known:
            known = version_text(NEWEST_KNOWN[self.name])
            text += f"; flags for ≥ {known}, untested on {self.version_text}"
        return text


def assumed_engine(name: str, launcher: tuple[str, ...], why: str) -> Engine:
    """The newest release agentkit knows, for a dry run where the engine is not installed."""
    newest = NEWEST_KNOWN[name]
    source = f"assumed, the newest {name} agentkit knows: {why}"
    return Engine(name, newest, version_text(newest), launcher, source)


def _ask(args: list[str], env: dict[str, str], what: str, timeout: float = 180) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise ServingError(f"{what} did not answer within {timeout:g} s; check the installation.") from exc
    except OSError as exc:
        raise ServingError(f"cannot run {what}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ServingError(f"{what} failed: {' | '.join(tail) or f'exit {done.returncode}'}")
    return done.stdout


def script_interpreter(exe: str, path: str | None = None) -> str | None:
    """The Python behind a console script: its ``#!`` line (also pip's ``/bin/sh`` trampoline)."""
    try:
        with open(exe, "rb") as handle:
            head = handle.read(2048).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    words = head[0][2:].split()
    if words and words[0].endswith("/sh") and len(head) > 1 and head[1].startswith(PIP_TRAMPOLINE):
        try:
            words = shlex.split(head[1][len(PIP_TRAMPOLINE) :])[:1]
        except ValueError:
            return None
    if len(words) > 1 and Path(words[0]).name == "env":
        return shutil.which(words[1], path=path)
    return words[0] if words and "python" in Path(words[0]).name else None


def _metadata_version(python: str, package: str, env: dict[str, str]) -> str | None:
    """``package``'s installed version as ``python`` sees it: reads dist-info only (fast, no GPU needed)."""
    try:
        text = _ask([python, "-c", METADATA_SNIPPET, package], env, f"{python} (metadata)", timeout=30)
    except ServingError:
        return None
    return text.strip() or None


def detect_engine(name: str, env: dict[str, str] | None = None) -> Engine:
    """Find ``name`` (vllm or sglang) as installed here and learn its version.

    vLLM: the package metadata, read by the interpreter behind the ``vllm`` executable (fast, needs no
    GPU); ``vllm --version`` (slow: it builds every subcommand's parser) only when that fails.
    SGLang: the package metadata for ``AGENTKIT_SGLANG_PYTHON`` (default: this Python), else
    ``sglang.__version__``.
    """
    env = dict(os.environ if env is None else env)
    if name == "vllm":
        exe = shutil.which("vllm", path=env.get("PATH"))
        if exe is None:
            raise ServingError(
                "vLLM is not installed: no `vllm` on PATH. Install it with `pip install vllm` (Linux + NVIDIA "
                "GPU), or use SGLang (--engine sglang; `engine: sglang` in a task), or point model.endpoint at a running server."
            )
        launcher: tuple[str, ...] = (exe, "serve")
        python = script_interpreter(exe, env.get("PATH"))
        text = _metadata_version(python, "vllm", env) if python else None
        source = f"package metadata, read by {python}"
        if not text:
            text = _ask([exe, "--version"], env, "`vllm --version`")
            source = f"`{exe} --version`"
    elif name == "sglang":
        python = env.get("AGENTKIT_SGLANG_PYTHON") or sys.executable
        launcher = (python, "-m", "sglang.launch_server")
        text = _metadata_version(python, "sglang", env)
        source = f"package metadata, read by {python}"
        if not text:
            try:
                text = _ask([python, "-c", "import sglang; print(sglang.__version__)"], env, "SGLang")
            except ServingError as exc:
                raise ServingError(
                    f'SGLang is not installed for {python}: `pip install "sglang[all]"`, or set '
                    "AGENTKIT_SGLANG_PYTHON to the Python that has it, or use --engine vllm."
                ) from exc
            source = f"sglang.__version__, imported by {python}"
    else:
        raise ServingError(
            f"unknown engine {name!r}: use vllm or sglang (or `engine: transformers` in a task)."
        )
    parsed = parse_version(text)
    if parsed is None:
        raise ServingError(f"cannot read {name}'s version from {text.strip()[-200:]!r}.")
    return Engine(name, parsed, version_text(parsed), launcher, source)


def check_engine_supports(engine: Engine, architecture: str) -> None:
    """Fail early when the installed engine predates the model's architecture."""
    minimum = QWEN3_MIN[engine.name]
    if architecture.startswith("Qwen3") and engine.version < minimum:
        package = "vllm" if engine.name == "vllm" else '"sglang[all]"'
        raise ServingError(
            f"{engine.name} {engine.version_text} predates Qwen3 ({architecture} needs {engine.name} ≥ "
            f"{version_text(minimum)}): `pip install -U {package}`."
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
    if version >= VLLM_ENABLE_REASONING:
        return flags + ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]
    return flags


def sglang_tool_parser(family: str, version: Version) -> str:
    """SGLang's tool-call parser name for a Qwen3 family on this version."""
    if family == "coder" and version >= SGLANG_QWEN3_CODER:
        return "qwen3_coder"
    return "qwen" if version >= SGLANG_QWEN_TOOL_PARSER else "qwen25"


def sglang_parser_flags(family: str, version: Version) -> list[str]:
    """Tool-call and reasoning parser flags for a Qwen3 family on this SGLang version."""
    flags = ["--tool-call-parser", sglang_tool_parser(family, version)]
    if family in ("coder", "instruct-2507"):
        return flags
    if family == "thinking-2507":
        return flags + ["--reasoning-parser", "deepseek-r1"]
    return flags + (["--reasoning-parser", "qwen3"] if version >= SGLANG_QWEN3_REASONING else [])


def _sglang_parser_reason(family: str, engine: Engine) -> str:
    v, tool = engine.version, sglang_tool_parser(family, engine.version)
    if family == "coder":
        if tool == "qwen3_coder":
            return "Qwen3-Coder: tool calls parsed by SGLang's qwen3_coder parser; it never thinks"
        return (
            f"Qwen3-Coder: SGLang {engine.version_text} predates the qwen3_coder tool parser "
            f"({version_text(SGLANG_QWEN3_CODER)}), so {tool}; agentkit's native mode parses the XML calls itself"
        )
    if tool == "qwen":
        calls = "tool calls parsed by SGLang's qwen (hermes-style) parser"
    else:
        calls = (
            f"tool calls parsed by SGLang's qwen25 (hermes-style) parser (SGLang {engine.version_text} "
            f"predates its new name qwen, {version_text(SGLANG_QWEN_TOOL_PARSER)})"
        )
    if family == "instruct-2507":
        reasoning = "no reasoning parser (Instruct-2507 never thinks)"
    elif family == "thinking-2507":
        reasoning = "reasoning parser deepseek-r1 (Thinking-2507's output has no opening <think>)"
    elif v >= SGLANG_QWEN3_REASONING:
        reasoning = "reasoning parser qwen3"
    else:
        reasoning = (
            f"no reasoning parser: SGLang {engine.version_text} predates qwen3's "
            f"({version_text(SGLANG_QWEN3_REASONING)}); agentkit splits <think> from the content itself"
        )
    return f"{calls}; {reasoning}"


def parser_flags_reason(family: str, engine: Engine) -> str:
    """Why the parser flags are what they are, for this family on this engine and version (in words)."""
    if engine.name == "sglang":
        return _sglang_parser_reason(family, engine)
    if family == "coder":
        if engine.version >= VLLM_QWEN3_CODER:
            return "Qwen3-Coder: tool calls parsed by vLLM's qwen3_coder parser; it never thinks"
        return (
            f"Qwen3-Coder: vLLM {engine.version_text} predates the qwen3_coder tool parser "
            f"({version_text(VLLM_QWEN3_CODER)}), so hermes; agentkit's native mode parses the XML calls itself"
        )
    if family == "instruct-2507":
        return "tool calls parsed by hermes; no reasoning parser (Instruct-2507 never thinks)"
    if engine.version >= VLLM_QWEN3_REASONING:
        if family == "thinking-2507":
            return (
                "tool calls parsed by hermes; reasoning parser deepseek_r1 (Thinking-2507's output has "
                "no opening <think>: its model card's parser)"
            )
        return "tool calls parsed by hermes; reasoning parser qwen3"
    return (
        f"tool calls parsed by hermes; vLLM {engine.version_text} predates the qwen3 reasoning parser "
        f"({version_text(VLLM_QWEN3_REASONING)}), so `--enable-reasoning --reasoning-parser deepseek_r1`"
    )


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
        if plan.engine_dp:
            cmd += ["--data-parallel-size", str(plan.data_parallel)]
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
        if plan.engine_dp:
            raise ServingError(
                "this plan uses vLLM's data parallelism; plan it again for SGLang (--engine sglang)."
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
            cmd += ["--tp-size", str(plan.tp)]
        if plan.expert_parallel:
            cmd += ["--ep-size", str(plan.tp)] if engine.version >= SGLANG_EP_SIZE else ["--enable-ep-moe"]
        cmd += ["--context-length", str(plan.max_model_len)]
        if plan.utilization_given:
            cmd += ["--mem-fraction-static", str(plan.gpu_memory_utilization)]
        cmd += sglang_parser_flags(family, engine.version)
    if api_key:
        cmd += ["--api-key", api_key]
    return cmd


def engine_env(replica: Replica, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment one replica runs in: only its own GPUs visible, numbered as nvidia-smi numbers them."""
    env = dict(os.environ if base is None else base)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, replica.gpus))
    return env
