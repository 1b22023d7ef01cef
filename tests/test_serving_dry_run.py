"""`agentkit serve MODEL --dry-run` from a laptop: no GPU, no engine, no cached model (issue 13, item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


@pytest.fixture
def laptop(tmp_path):
    """A temp working folder and an environment without nvidia-smi, vllm, ray or a Hugging Face cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "HF_", "AGENTKIT_SGLANG"))}
    env.update(PATH=str(bin_dir), HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(REPO))

    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "agentkit", "serve", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )

    return serve


def test_readme_dry_run_plans_on_described_gpus_from_the_catalog(laptop):
    run = laptop("Qwen/Qwen3-30B-A3B", "--dry-run", "--gpus", "4xH100-80GB")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Plan for Qwen/Qwen3-30B-A3B on vllm 0.34.0:" in out
    assert "planned for vllm 0.34.0 (assumed, the newest vllm agentkit knows: not installed here)" in out
    assert "facts from agentkit's built-in Qwen3 catalog" in out
    assert "4 × NVIDIA H100 80GB HBM3 (79.6 GiB each)" in out
    assert "4 data-parallel replicas of TP 1" in out
    assert "note: GPUs from --gpus 4xH100-80GB (described, not detected)" in out
    assert "not in the local Hugging Face cache" in out  # said, not fatal, for a dry run
    assert out.count("vllm serve Qwen/Qwen3-30B-A3B") == 4 and "Traceback" not in run.stderr


def test_memory_in_gb_sglang_and_json(laptop):
    run = laptop("Qwen/Qwen3-235B-A22B-FP8", "--dry-run", "--gpus", "8x141", "--engine", "sglang", "--json")
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["gpus"][0]["memory_mib"] == 143771 and len(plan["gpus"]) == 8
    assert plan["model_facts_source"].startswith("agentkit's built-in Qwen3 catalog")
    assert plan["engine"] == "sglang" and plan["engine_version"] == "0.5.23" and not plan["engine_installed"]
    assert plan["engine_version_source"].startswith("assumed")
    assert plan["quantization"] == "fp8" and not plan["memory_fraction_passed"]
    command = plan["replicas"][0]["command"]
    assert "--tp-size" in command and "--mem-fraction-static" not in command
    assert "--tool-call-parser qwen --reasoning-parser qwen3" in command


def test_two_nodes_and_the_catalogs_coder_480b(laptop):
    run = laptop("Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", "--dry-run", "--gpus", "8xH200")
    assert run.returncode == 0, run.stderr
    assert "--tool-call-parser qwen3_coder" in run.stdout and "context 262144" in run.stdout
    run = laptop("Qwen/Qwen3-235B-A22B", "--dry-run", "--gpus", "2x8xL40S")
    assert run.returncode == 0, run.stderr
    assert "--pipeline-parallel-size 2" in run.stdout and "--distributed-executor-backend ray" in run.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["Qwen/Qwen3-30B-A3B", "--dry-run"], "describe them: --gpus 4xH100-80GB"),
        (["Qwen/Qwen3-30B-A3B", "--dry-run", "--gpus", "4xFoo"], "unknown GPU 'Foo'"),
        (["Qwen/Qwen3-30B-A3B", "--dry-run", "--gpus", "0x80"], "whole numbers above 0"),
        (["Qwen/Qwen3-30B-A3B", "--gpus", "4xH100"], "describes GPUs to plan for"),
        (["someone/Unknown-7B", "--dry-run", "--gpus", "1x80"], "not in the local Hugging Face cache"),
    ],
)
def test_mistakes_are_one_clear_message(laptop, args, words):
    run = laptop(*args)
    assert run.returncode != 0
    assert words in run.stderr and "Traceback" not in run.stderr
