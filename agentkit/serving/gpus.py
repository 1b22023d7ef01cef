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
