"""GPU inventory from nvidia-smi, narrowed by CUDA_VISIBLE_DEVICES and --gpus."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from agentkit.serving.errors import ServingError

QUERY = ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"]
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class GPU:
    index: int
    """nvidia-smi's index (PCI bus order; launched engines get CUDA_DEVICE_ORDER=PCI_BUS_ID)."""
    name: str
    memory_mib: int

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * MIB


def parse_nvidia_smi(text: str) -> list[GPU]:
    """GPUs from ``nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`` output."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3:
            raise ServingError(f"cannot read this nvidia-smi line: {line!r}")
        try:
            gpus.append(
                GPU(index=int(parts[0]), name=", ".join(parts[1:-1]), memory_mib=int(float(parts[-1])))
            )
        except ValueError as exc:
            raise ServingError(f"cannot read this nvidia-smi line: {line!r} ({exc})") from exc
    return gpus


def _run_nvidia_smi(args: list[str], env: Mapping[str, str]) -> str:
    exe = shutil.which("nvidia-smi", path=env.get("PATH"))
    if exe is None:
        raise ServingError(
            "no NVIDIA GPU found: nvidia-smi is not on PATH. Serving with vLLM/SGLang needs NVIDIA GPUs and "
            "their driver; on a CPU-only machine use `engine: transformers`, or set model.endpoint to a "
            "server running elsewhere."
        )
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=30, env=dict(env))
    except subprocess.TimeoutExpired as exc:
        raise ServingError("nvidia-smi did not answer within 30 s: the GPU driver looks stuck.") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ServingError(
            f"nvidia-smi failed ({detail[-1] if detail else f'exit {done.returncode}'}): "
            "check the NVIDIA driver (`nvidia-smi` should list your GPUs)."
        )
    return done.stdout


def _visible(gpus: list[GPU], value: str, env: Mapping[str, str]) -> list[GPU]:
    """The GPUs CUDA_VISIBLE_DEVICES leaves visible (indices or UUIDs), in nvidia-smi order."""
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    if any(not t.isdigit() for t in tokens):
        uuids = {}
        for line in _run_nvidia_smi(["--query-gpu=index,uuid", "--format=csv,noheader"], env).splitlines():
            if "," in line:
                index, uuid = (p.strip() for p in line.split(",", 1))
                uuids[uuid] = int(index)
        wanted = set()
        for token in tokens:
            match = [i for u, i in uuids.items() if u == token or u.startswith(token)]
            if not match:
                raise ServingError(f"CUDA_VISIBLE_DEVICES names {token!r}, which nvidia-smi does not list.")
            wanted.add(match[0])
    else:
        wanted = {int(t) for t in tokens}
    return [g for g in gpus if g.index in wanted]


def parse_gpu_list(value: str) -> list[int]:
    """``"0,1,2,3"`` or ``"0-3"`` → ``[0, 1, 2, 3]``."""
    out: list[int] = []
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError as exc:
        raise ServingError(f"--gpus {value!r}: expected GPU indices like 0,1,2,3 or 0-3.") from exc
    if len(set(out)) != len(out) or not out:
        raise ServingError(f"--gpus {value!r}: expected distinct GPU indices like 0,1,2,3.")
    return out


def list_gpus(selected: str | list[int] | None = None, env: Mapping[str, str] | None = None) -> list[GPU]:
    """The GPUs to serve on: nvidia-smi's list, narrowed by CUDA_VISIBLE_DEVICES, then by ``selected``."""
    env = os.environ if env is None else env
    gpus = parse_nvidia_smi(_run_nvidia_smi(QUERY, env))
    visible_value = env.get("CUDA_VISIBLE_DEVICES")
    if visible_value is not None:
        gpus = _visible(gpus, visible_value, env)
        if not gpus:
            raise ServingError(
                f"CUDA_VISIBLE_DEVICES={visible_value!r} hides every GPU: unset it or name GPUs nvidia-smi lists."
            )
    if not gpus:
        raise ServingError(
            "nvidia-smi lists no GPU: check the driver and that the GPUs are passed to this machine."
        )
    if selected is not None:
        indices = parse_gpu_list(selected) if isinstance(selected, str) else list(selected)
        known = {g.index: g for g in gpus}
        missing = [i for i in indices if i not in known]
        if missing:
            raise ServingError(
                f"GPU {', '.join(map(str, missing))} is not available (available: "
                f"{', '.join(str(g.index) for g in gpus)}"
                + (f"; CUDA_VISIBLE_DEVICES={visible_value}" if visible_value is not None else "")
                + ")."
            )
        gpus = [known[i] for i in indices]
    return gpus


KNOWN_GPUS: dict[str, tuple[str, int]] = {
    # name as typed (lower case) → (name as nvidia-smi prints it, memory.total in MiB)
    "h100": ("NVIDIA H100 80GB HBM3", 81559),
    "h100-80gb": ("NVIDIA H100 80GB HBM3", 81559),
    "h100-nvl": ("NVIDIA H100 NVL", 95830),
    "h800": ("NVIDIA H800", 81559),
    "h200": ("NVIDIA H200", 143771),
    "h200-141gb": ("NVIDIA H200", 143771),
    "h20": ("NVIDIA H20", 97871),
    "h20-96gb": ("NVIDIA H20", 97871),
    "a100": ("NVIDIA A100-SXM4-80GB", 81920),
    "a100-80gb": ("NVIDIA A100-SXM4-80GB", 81920),
    "a100-40gb": ("NVIDIA A100-SXM4-40GB", 40960),
    "l40s": ("NVIDIA L40S", 46068),
    "l4": ("NVIDIA L4", 23034),
    "rtx4090": ("NVIDIA GeForce RTX 4090", 24564),
    "4090": ("NVIDIA GeForce RTX 4090", 24564),
    "b200": ("NVIDIA B200", 183359),
}
MIB_BY_GB = {24: 24564, 40: 40960, 48: 46068, 80: 81559, 94: 95830, 96: 97871, 141: 143771, 180: 183359}
"""What nvidia-smi reports (memory.total, MiB) for cards sold as this many GB."""


@dataclass(frozen=True, slots=True)
class GPULayout:
    """GPUs described on the command line (``--gpus 4xH100-80GB``, ``8x141``, ``2x8xH100``): plans only."""

    gpus: list[GPU]
    """One node's GPUs."""
    nodes: int
    text: str


def is_gpu_layout(value: str | list[int] | None) -> bool:
    """Whether ``--gpus`` describes hardware (``4xH100``) rather than naming GPU indices (``0,1``)."""
    return isinstance(value, str) and "x" in value.lower()


def _gpu_kind(kind: str, value: str) -> tuple[str, int]:
    low = kind.lower().removeprefix("nvidia-").replace("_", "-")
    if low in KNOWN_GPUS:
        return KNOWN_GPUS[low]
    number = low.removesuffix("gb").removesuffix("g")
    if number.isdigit() and int(number) >= 4:
        gb = int(number)
        return f"{gb} GB GPU", MIB_BY_GB.get(gb, int(gb * 1000**3 / MIB * 0.995))
    named = low.rsplit("-", 1)
    if len(named) == 2 and named[1].removesuffix("gb").isdigit():
        gb = int(named[1].removesuffix("gb"))
        return f"NVIDIA {kind.rsplit('-', 1)[0].upper()} {gb}GB", MIB_BY_GB.get(
            gb, int(gb * 1000**3 / MIB * 0.995)
        )
    known = ", ".join(sorted({k for k in KNOWN_GPUS if "-" not in k}))
    raise ServingError(
        f"--gpus {value!r}: unknown GPU {kind!r}; name one of {known}, or give its memory in GB "
        "(e.g. 4x80, 8x141, 2x8xH100-80GB)."
    )


def parse_gpu_layout(value: str) -> GPULayout:
    """``4xH100-80GB`` / ``8x141`` / ``2x8xH200`` (nodes × GPUs × kind) → GPUs to plan for."""
    parts = value.strip().replace("X", "x").split("x")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ServingError(
            f"--gpus {value!r}: expected COUNTxGPU (4xH100-80GB, 8x141) or NODESxCOUNTxGPU (2x8xH100)."
        )
    *counts, kind = (p.strip() for p in parts)
    if not all(c.isdigit() and int(c) > 0 for c in counts):
        raise ServingError(f"--gpus {value!r}: the counts before the GPU must be whole numbers above 0.")
    nodes, count = (1, int(counts[0])) if len(counts) == 1 else (int(counts[0]), int(counts[1]))
    name, mib = _gpu_kind(kind, value)
    return GPULayout([GPU(i, name, mib) for i in range(count)], nodes, value)
