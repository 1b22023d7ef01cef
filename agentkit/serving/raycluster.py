"""Detect a running Ray cluster (``ray status``) for multi-node plans."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RayCluster:
    nodes: int
    gpus: int

    @property
    def gpus_per_node(self) -> int:
        return self.gpus // self.nodes if self.nodes else 0


def parse_ray_status(text: str) -> RayCluster | None:
    """Active nodes and total GPUs from ``ray status`` output; None when it shows no cluster."""
    nodes = 0
    in_active = False
    gpus = 0.0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Active:"):
            in_active = True
            continue
        if in_active:
            if re.match(r"^\d+\s+node_", stripped):
                nodes += int(stripped.split()[0])
                continue
            in_active = False
        match = re.match(r"^[\d.]+/([\d.]+)\s+GPU\b", stripped)
        if match:
            gpus = float(match.group(1))
    if nodes == 0:
        return None
    return RayCluster(nodes=nodes, gpus=int(gpus))


def detect_ray_cluster(env: dict[str, str] | None = None) -> RayCluster | None:
    """The Ray cluster this machine belongs to, if ``ray`` is installed and a cluster is running."""
    env = dict(os.environ if env is None else env)
    exe = shutil.which("ray", path=env.get("PATH"))
    if exe is None:
        return None
    args = [exe, "status"]
    if env.get("RAY_ADDRESS"):
        args.append(f"--address={env['RAY_ADDRESS']}")
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_ray_status(done.stdout) if done.returncode == 0 else None
