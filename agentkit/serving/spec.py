"""Everything decided before a server starts: options, plan, engine, ports, the exact commands."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentkit.serving.enginefacts import VLLM_DATA_PARALLEL, version_text
from agentkit.serving.errors import ServingError
from agentkit.serving.flags import (
    Engine,
    assumed_engine,
    build_command,
    check_engine_supports,
    detect_engine,
    engine_env,
    parser_flags_reason,
)
from agentkit.serving.gpus import is_gpu_layout, list_gpus, parse_gpu_layout
from agentkit.serving.modelinfo import FAMILIES, load_model_info
from agentkit.serving.planner import Plan, Replica, make_plan
from agentkit.serving.raycluster import RayCluster, detect_ray_cluster

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ASSUMED_LAUNCHERS = {"vllm": ("vllm", "serve"), "sglang": ("python", "-m", "sglang.launch_server")}


def shown(cmd: list[str]) -> str:
    """A command as a shell line, its API key hidden (printed once, on the ready line, instead)."""
    return shlex.join(["<api-key>" if i and cmd[i - 1] == "--api-key" else a for i, a in enumerate(cmd)])


@dataclass(slots=True)
class ServeOptions:
    """What the user asked for: a task's ``model:`` block or the ``serve`` command line."""

    path: str | None = None
    name: str | None = None
    engine: str = "vllm"
    gpus: str | list[int] | None = None
    port: int | None = None
    host: str = "127.0.0.1"
    max_model_len: int | None = None
    api_key: str | None = None
    tp: int | None = None
    variant: str | None = None
    """Qwen3 family (hybrid, thinking-2507, instruct-2507, coder); None: from the model's name."""
    gpu_memory_utilization: float | None = None
    """None: the engine's own default (vLLM 0.9; SGLang chooses its mem_fraction_static)."""
    data_parallel: str = "auto"
    """auto, replicas (separate servers) or engine (vLLM's --data-parallel-size with expert parallelism)."""
    timeout: float = 1800.0
    run_dir: str | None = None

    DEFAULT_PORT = 8000

    @classmethod
    def from_model(cls, model: dict[str, Any]) -> ServeOptions:
        """From a task's ``model:`` mapping (keys: path, name, engine, gpus, port, max_model_len, api_key, host…)."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(k for k in model if k not in known)
        if unknown:
            raise ServingError(
                f"unknown model key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        opts = cls(**{k: v for k, v in model.items() if k in known and v is not None})
        if not opts.path and not opts.name:
            raise ServingError("model needs `path` (a local model folder) or `name` (a Hugging Face name).")
        if opts.gpus is not None and not isinstance(opts.gpus, (str, list)):
            opts.gpus = str(opts.gpus)
        if opts.variant not in (None, *FAMILIES):
            raise ServingError(f"unknown variant {opts.variant!r}; use one of {', '.join(FAMILIES)}.")
        return opts

    @property
    def model_arg(self) -> str:
        """What the engine loads: the local folder, else the HF name (resolved from its cache)."""
        return str(Path(self.path).expanduser().resolve()) if self.path else str(self.name)

    @property
    def served_name(self) -> str:
        if self.name:
            return self.name
        return Path(self.model_arg).resolve().name

    @property
    def port_given(self) -> bool:
        return self.port is not None


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host if host != "localhost" else "127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_base_port(opts: ServeOptions, count: int) -> int:
    """``count`` consecutive free ports from the asked one; an explicitly asked port that is busy is an error."""
    base = opts.port or ServeOptions.DEFAULT_PORT
    for start in range(base, base + 200):
        busy = [p for p in range(start, start + count) if not port_free(opts.host, p)]
        if not busy:
            return start
        if opts.port_given:
            raise ServingError(
                f"port {busy[0]} on {opts.host} is already in use (by another server?): stop it "
                f"(`ss -ltnp 'sport = :{busy[0]}'` shows who) or pass another --port."
            )
    raise ServingError(f"no {count} free consecutive ports from {base} on {opts.host}: pass --port.")


@dataclass(slots=True)
class LaunchSpec:
    """The plan and the exact commands, ready to start (or to print for --dry-run)."""

    options: ServeOptions
    plan: Plan
    engine: Engine
    engine_installed: bool
    replicas: list[Replica]
    commands: list[list[str]]
    envs: list[dict[str, str]]
    api_key: str | None
    notes: list[str] = field(default_factory=list)
    parsers: str = ""
    """Why the tool-call and reasoning parser flags are these (family, engine version)."""

    def base_urls(self) -> list[str]:
        host = connect_host(self.options.host)
        return [f"http://{host}:{r.port}/v1" for r in self.replicas]

    def describe(self) -> str:
        """The plan in words, then the exact command(s)."""
        lines = [f"Plan for {self.plan.model.name} on {self.engine.name} {self.engine.version_text}:"]
        lines.append(f"  - planned for {self.engine.planned_for()}")
        lines += [f"  - {reason}" for reason in self.plan.reasons]
        if self.plan.alternative:
            lines.append(f"  - {self.plan.alternative}")
        if self.parsers:
            lines.append(f"  - parsers: {self.parsers}")
        lines += [f"  - note: {note}" for note in self.notes]
        lines.append("Command" + ("s" if len(self.commands) > 1 else "") + ":")
        for replica, cmd in zip(self.replicas, self.commands):
            gpus = ",".join(map(str, replica.gpus))
            lines.append(f"  CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={gpus} {shown(cmd)}")
        lines.append(
            "Endpoint" + ("s" if len(self.replicas) > 1 else "") + ": " + ", ".join(self.base_urls())
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "engine": self.engine.name,
            "engine_version": self.engine.version_text,
            "engine_version_source": self.engine.source,
            "engine_newer_than_known": self.engine.newer_than_known,
            "engine_installed": self.engine_installed,
            "served_model_name": self.options.served_name,
            "parsers": self.parsers,
            "host": self.options.host,
            "replicas": [
                {"gpus": list(r.gpus), "port": r.port, "base_url": url, "command": shown(cmd)}
                for r, cmd, url in zip(self.replicas, self.commands, self.base_urls())
            ],
            "notes": list(self.notes),
        }

    def run_dir(self) -> Path:
        """A fresh folder for this launch's logs, plan and commands."""
        root = Path(
            self.options.run_dir or os.environ.get("AGENTKIT_SERVE_DIR") or "~/.agentkit/serve"
        ).expanduser()
        slug = self.options.served_name.replace("/", "--")
        folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plan.json").write_text(json.dumps(self.to_dict(), indent=2))
        return folder


def _engine(opts: ServeOptions, env: dict[str, str], dry_run: bool, notes: list[str]) -> tuple[Engine, bool]:
    """The installed engine, or (dry run only) the newest release agentkit knows."""
    try:
        return detect_engine(opts.engine, env), True
    except ServingError as exc:
        if not dry_run or opts.engine not in ASSUMED_LAUNCHERS:
            raise
        notes.append(f"{exc} The commands below are for the newest {opts.engine} agentkit knows.")
        return assumed_engine(opts.engine, ASSUMED_LAUNCHERS[opts.engine], "not installed here"), False


def prepare(opts: ServeOptions, *, dry_run: bool = False, env: dict[str, str] | None = None) -> LaunchSpec:
    """Read the model, take the GPU inventory, learn the engine's version, plan and build the commands.

    A dry run tolerates a missing engine (it plans for the newest release agentkit knows), a model known
    only from the built-in Qwen3 catalog, and a GPU layout given as text (``--gpus 4xH100-80GB``); it
    skips the port check.
    """
    env = dict(os.environ if env is None else env)
    if is_gpu_layout(opts.gpus) and not dry_run:
        raise ServingError(
            f"--gpus {opts.gpus!r} describes GPUs to plan for, not GPUs of this machine: add --dry-run, "
            "or name GPU indices (0,1 or 0-3)."
        )
    model = load_model_info(opts.model_arg)
    if opts.variant:
        model = replace(model, family=opts.variant)
    notes = []
    if model.weights_problem:
        if not dry_run:
            if opts.path:
                folder = shlex.quote(str(model.path))
                fetch = f"hf download Qwen/{model.name} --local-dir {folder}"
            else:
                fetch = f"hf download {model.name}"
            raise ServingError(
                f"{model.weights_problem}: the engine would fail. Download the weights (`{fetch}`) "
                "or point MODEL at the complete folder."
            )
        notes.append(model.weights_problem)
    if is_gpu_layout(opts.gpus):
        layout = parse_gpu_layout(str(opts.gpus))
        gpus = layout.gpus
        cluster = RayCluster(layout.nodes, layout.nodes * len(gpus)) if layout.nodes > 1 else None
        notes.append(f"GPUs from --gpus {layout.text} (described, not detected)")
    else:
        try:
            gpus = list_gpus(opts.gpus, env)
        except ServingError as exc:
            if not dry_run:
                raise
            raise ServingError(
                f"{exc} To preview a plan without these GPUs, describe them: --gpus 4xH100-80GB "
                "(or 8x141, 4xH20, 2x8xH200 for two nodes)."
            ) from exc
        cluster = detect_ray_cluster(env) if opts.gpus is None else None
    engine, installed = _engine(opts, env, dry_run, notes)
    check_engine_supports(engine, model.architecture)
    data_parallel = opts.data_parallel
    if engine.name == "vllm" and engine.version < VLLM_DATA_PARALLEL and data_parallel == "auto":
        data_parallel = "replicas"
        notes.append(
            f"vLLM {engine.version_text} predates agentkit's use of its data parallelism "
            f"({version_text(VLLM_DATA_PARALLEL)}): replicas only"
        )
    plan = make_plan(
        model,
        gpus,
        max_model_len=opts.max_model_len,
        tp=opts.tp,
        gpu_memory_utilization=opts.gpu_memory_utilization,
        cluster=cluster,
        engine=engine.name,
        data_parallel=data_parallel,
    )
    if engine.name == "sglang" and opts.gpu_memory_utilization is not None:
        notes.append(
            f"--mem-fraction-static {opts.gpu_memory_utilization}: in SGLang it covers weights and KV cache "
            "only (activations and CUDA graphs use the rest), unlike vLLM's --gpu-memory-utilization"
        )
    api_key = opts.api_key
    if not api_key and opts.host not in LOOPBACK:
        api_key = secrets.token_urlsafe(24)
        notes.append(
            f"bound to {opts.host}, so a generated API key protects it (pass --api-key to choose one)"
        )
    count = len(plan.replicas(0))
    base = (opts.port or ServeOptions.DEFAULT_PORT) if dry_run else choose_base_port(opts, count)
    replicas = plan.replicas(base)
    commands = [
        build_command(
            plan,
            r,
            engine,
            model_arg=opts.model_arg,
            served_name=opts.served_name,
            host=opts.host,
            api_key=api_key,
        )
        for r in replicas
    ]
    return LaunchSpec(
        options=opts,
        plan=plan,
        engine=engine,
        engine_installed=installed,
        replicas=replicas,
        commands=commands,
        envs=[engine_env(r, env) for r in replicas],
        api_key=api_key,
        notes=notes,
        parsers=parser_flags_reason(model.family, engine),
    )
