"""Diagnosis from engine logs: one message naming the cause and the next thing to run."""

from pathlib import Path

import pytest

from agentkit.serving.diagnose import diagnose, find_cause, first_fatal_line
from agentkit.serving.gpus import GPU
from agentkit.serving.modelinfo import load_model_info
from agentkit.serving.planner import make_plan

MODELS = Path(__file__).parent / "fixtures" / "models"


@pytest.fixture
def plan():
    return make_plan(load_model_info(str(MODELS / "Qwen3-32B")), [GPU(i, "H100", 81559) for i in range(4)])


@pytest.mark.parametrize(
    "line, kind",
    [
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.50 GiB.", "oom"),
        (
            "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`",
            "oom",
        ),
        (
            "ValueError: The model's max seq len (40960) is larger than the maximum number of tokens that can "
            "be stored in KV cache (30000).",
            "oom",
        ),
        ("OSError: [Errno 98] Address already in use", "port"),
        ("ValueError: Model architectures ['FooForCausalLM'] are not supported for now.", "architecture"),
        ("huggingface_hub.errors.GatedRepoError: 401 Client Error. Cannot access gated repo", "weights"),
        ("RuntimeError: No CUDA GPUs are available", "gpu"),
    ],
)
def test_fatal_lines_are_recognised_while_the_engine_runs(line, kind):
    assert find_cause(line) == kind
    assert first_fatal_line(["INFO loading", line]) == line


def test_weak_patterns_count_only_after_exit():
    line = "OSError: Qwen/Qwen3-8B does not appear to have a file named config.json"
    assert first_fatal_line([line]) is None
    assert find_cause(line) == "weights"
    assert first_fatal_line(["INFO Loading safetensors checkpoint shards: 50% Completed"]) is None


def test_oom_message_lists_next_plans_as_commands(plan):
    message = diagnose(
        "INFO x\ntorch.OutOfMemoryError: CUDA out of memory.\n",
        plan=plan,
        model_arg="Qwen/Qwen3-32B",
        engine="vllm",
        port=8000,
        log_path="/tmp/x.log",
        returncode=1,
    )
    assert message.startswith("vllm exited with status 1 while starting Qwen3-32B: out of GPU memory (TP 2")
    assert "`python -m agentkit serve Qwen/Qwen3-32B --tp 4`" in message
    assert "`python -m agentkit serve Qwen/Qwen3-32B --max-model-len 20480`" in message
    assert "log: /tmp/x.log" in message and "CUDA out of memory" in message
    assert "add --keep to leave it running: `agentkit run` on a task with this model reuses it" in message


@pytest.mark.parametrize(
    "log, expected",
    [
        ("OSError: [Errno 98] Address already in use", "port 8000 is already in use"),
        ("Model architectures ['X'] are not supported", "does not support the architecture Qwen3ForCausalLM"),
        ("GatedRepoError: 401", "hf auth login"),
        ("something odd happened", "vllm exited with status 2 while starting Qwen3-32B."),
    ],
)
def test_other_causes(plan, log, expected):
    message = diagnose(log, plan=plan, model_arg="m", engine="vllm", port=8000, log_path="l", returncode=2)
    assert expected in message
    assert log in message  # the last lines are quoted
