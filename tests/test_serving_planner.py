"""Planner table tests on the public config.json facts of Qwen3 models, plus model sizing and engine flags."""

from pathlib import Path

import pytest

from agentkit.serving.enginefacts import version
from agentkit.serving.errors import ServingError
from agentkit.serving.flags import (
    Engine,
    build_command,
    parse_version,
    parser_flags_reason,
    sglang_parser_flags,
    vllm_parser_flags,
)
from agentkit.serving.gpus import GPU
from agentkit.serving.modelinfo import GIB, load_model_info, resolve_model_dir
from agentkit.serving.planner import make_plan, next_plans
from agentkit.serving.raycluster import RayCluster

MODELS = Path(__file__).parent / "fixtures" / "models"
H100 = 81559  # MiB, as nvidia-smi reports an 80 GB card
RTX4090 = 24564


def model(name):
    return load_model_info(str(MODELS / name))


def gpus(n, mib=H100, name="NVIDIA H100 80GB HBM3"):
    return [GPU(i, name, mib) for i in range(n)]


@pytest.mark.parametrize(
    "name, params_b, active_b, weights_gib",
    [
        ("Qwen3-0.6B", 0.60, 0.60, 1.1),
        ("Qwen3-32B", 32.8, 32.8, 61.0),
        ("Qwen3-30B-A3B", 30.5, 3.35, 56.9),
        ("Qwen3-235B-A22B", 235.1, 22.2, 437.9),
        ("Qwen3-235B-A22B-FP8", 235.1, 22.2, 220.1),
    ],
)
def test_sizes_from_config(name, params_b, active_b, weights_gib):
    info = model(name)
    assert info.params / 1e9 == pytest.approx(params_b, abs=0.05)
    assert info.active_params / 1e9 == pytest.approx(active_b, abs=0.05)
    assert info.weight_bytes / GIB == pytest.approx(weights_gib, abs=0.1)


def test_kv_bytes_per_token_follows_the_formula():
    info = model("Qwen3-32B")
    assert info.kv_bytes_per_token() == 2 * 64 * 8 * 128 * 2


PLAN_TABLE = [
    # model, gpus, cluster, (tp, pp, data parallel, expert_parallel, ray, vLLM's own DP)
    ("Qwen3-0.6B", gpus(1, RTX4090, "NVIDIA GeForce RTX 4090"), None, (1, 1, 1, False, False, False)),
    ("Qwen3-32B", gpus(4), None, (2, 1, 2, False, False, False)),
    ("Qwen3-30B-A3B", gpus(4), None, (1, 1, 4, False, False, False)),
    # A MoE needing two GPUs per replica: vLLM's DP + EP spreads the experts over all four instead.
    ("Qwen3-30B-A3B-FP8", gpus(4, RTX4090), None, (1, 1, 4, True, False, True)),
    ("Qwen3-235B-A22B", gpus(8), None, (2, 1, 4, True, False, True)),
    ("Qwen3-235B-A22B-FP8", gpus(8), None, (1, 1, 8, True, False, True)),
    (
        "Qwen3-235B-A22B",
        gpus(8, 46068, "NVIDIA L40S"),
        RayCluster(nodes=2, gpus=16),
        (8, 2, 1, True, True, False),
    ),
    ("Qwen3-235B-A22B-FP8", gpus(8), RayCluster(nodes=2, gpus=16), (1, 1, 8, True, False, True)),
]


@pytest.mark.parametrize("name, gpu_list, cluster, expected", PLAN_TABLE)
def test_plan_table(name, gpu_list, cluster, expected):
    plan = make_plan(model(name), gpu_list, cluster=cluster)
    got = (plan.tp, plan.pp, plan.data_parallel, plan.expert_parallel, plan.ray, plan.engine_dp)
    assert got == expected
    assert plan.max_model_len == 40960
    assert plan.kv_tokens >= plan.max_model_len
    server_gpus = plan.tp * plan.pp * (plan.data_parallel if plan.engine_dp else 1)
    assert plan.weights_per_gpu * server_gpus >= plan.model.weight_bytes  # every weight has a GPU


def test_32b_explains_why_tp1_is_not_enough():
    plan = make_plan(model("Qwen3-32B"), gpus(4))
    text = "\n".join(plan.reasons)
    assert "not chosen: TP 1: KV cache room" in text
    assert "2 data-parallel replicas of TP 2" in text
    assert [r.gpus for r in plan.replicas(8000)] == [(0, 1), (2, 3)]
    assert [r.port for r in plan.replicas(8000)] == [8000, 8001]


def test_235b_bf16_does_not_fit_four_h100_and_says_fp8():
    with pytest.raises(ServingError) as err:
        make_plan(model("Qwen3-235B-A22B"), gpus(4))
    message = str(err.value)
    assert "does not fit on 4 × NVIDIA H100" in message
    assert "437.9 GiB" in message
    assert "Qwen3-235B-A22B-FP8" in message


def test_235b_bf16_on_eight_h100_fits_and_fp8_halves_it():
    bf16 = make_plan(model("Qwen3-235B-A22B"), gpus(8), data_parallel="replicas")
    fp8 = make_plan(model("Qwen3-235B-A22B-FP8"), gpus(8), data_parallel="replicas")
    assert bf16.tp == 8 and bf16.data_parallel == 1
    assert fp8.tp == 4 and fp8.data_parallel == 2
    assert fp8.kv_tokens * 2 > bf16.kv_tokens  # two FP8 replicas hold more KV cache than one BF16 server


def test_235b_bf16_on_eight_h100_states_its_margin():
    """Weights 437.9 GiB (embeddings and lm_head included) / 8 = 54.7 GiB per GPU of a 71.7 GiB budget;
    one 40960-token sequence takes 1.8 GiB of KV (1 of the 4 KV heads per GPU), so up to 15.1 GiB of
    engine overhead per GPU is tolerated against the 2.5 GiB assumed: it fits, and not narrowly."""
    plan = make_plan(model("Qwen3-235B-A22B"), gpus(8), data_parallel="replicas")
    assert plan.max_model_len == 40960 and plan.kv_bytes_per_token == 2 * 94 * 1 * 128 * 2
    budget = H100 * 2**20 * 0.9
    expected = budget - plan.weights_per_gpu - 40960 * plan.kv_bytes_per_token
    assert plan.overhead_limit == pytest.approx(expected, abs=2)
    assert plan.overhead_limit / GIB == pytest.approx(15.1, abs=0.05) and not plan.tight
    margin = plan.reasons[-1]
    assert margin.startswith("margin: each GPU's budget 71.7 GiB (90% of 79.6 GiB) = weights 54.7 GiB")
    assert "one full 40960-token sequence needs 1.8 GiB" in margin
    assert "stays under 15.1 GiB per GPU" in margin and "tight" not in margin
    assert plan.to_dict()["overhead_limit_per_gpu_bytes"] == plan.overhead_limit


def test_a_plan_resting_on_the_reserve_says_it_is_tight():
    plan = make_plan(model("Qwen3-30B-A3B-Instruct-2507"), gpus(1), max_model_len=131072)
    assert plan.tight and plan.overhead_limit < 4 * GIB
    assert "tight: if the engine runs out of memory" in plan.reasons[-1]


def test_235b_bf16_does_not_fit_eight_l40s_without_a_cluster():
    with pytest.raises(ServingError, match="more GPUs \\(or a Ray cluster"):
        make_plan(model("Qwen3-235B-A22B"), gpus(8, 46068, "NVIDIA L40S"))


def test_fp8_block_constraint_without_expert_parallel():
    from agentkit.serving.planner import tp_problem

    fp8 = model("Qwen3-30B-A3B-FP8")
    assert tp_problem(fp8, 2, expert_parallel=False) is None
    assert "768 / 4 = 192" in tp_problem(fp8, 4, expert_parallel=False)
    assert tp_problem(fp8, 4, expert_parallel=True) is None
    big = model("Qwen3-235B-A22B-FP8")
    assert tp_problem(big, 4, expert_parallel=False) is None
    assert "1536 / 8 = 192" in tp_problem(big, 8, expert_parallel=False)


def test_heads_limit_tensor_parallel():
    with pytest.raises(ServingError, match="16 attention heads do not split over TP 3"):
        make_plan(model("Qwen3-0.6B"), gpus(3), tp=3)


def test_context_is_lowered_when_only_a_shorter_one_fits():
    plan = make_plan(model("Qwen3-30B-A3B-Instruct-2507"), gpus(1))
    assert plan.max_model_len < 262144 and plan.max_model_len % 1024 == 0
    assert plan.kv_tokens >= plan.max_model_len
    assert any(r.startswith("max_model_len lowered from 262144 to ") for r in plan.reasons)
    assert not plan.tight  # the lowered context leaves KV room beyond one full sequence
    assert plan.kv_room_per_gpu - plan.max_model_len * plan.kv_bytes_per_token >= 2 * GIB


def test_asked_context_that_does_not_fit_is_an_error_with_fixes():
    with pytest.raises(ServingError, match="a smaller --max-model-len"):
        make_plan(model("Qwen3-30B-A3B-Instruct-2507"), gpus(1), max_model_len=262144)
    with pytest.raises(ServingError, match="exceeds Qwen3-32B's context of 40960"):
        make_plan(model("Qwen3-32B"), gpus(4), max_model_len=131072)


def test_next_plans_after_oom():
    plan = make_plan(model("Qwen3-32B"), gpus(4))
    tries = next_plans(plan)
    assert tries[0][1] == ["--tp", "4"]
    assert ["--max-model-len", "20480"] in [extra for _, extra in tries]
    assert ["--gpu-memory-utilization", "0.8"] in [extra for _, extra in tries]


@pytest.mark.parametrize(
    "family, version_name, expected",
    [
        ("hybrid", "0.34.0", ["--reasoning-parser", "qwen3"]),
        ("hybrid", "0.10.1", ["--reasoning-parser", "qwen3"]),
        ("hybrid", "0.9.0", ["--reasoning-parser", "qwen3"]),
        # vLLM 0.8.5(.post1) has no qwen3 reasoning parser and needs --enable-reasoning (vllm#17441)
        ("hybrid", "0.8.5.post1", ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]),
        ("hybrid", "0.8.4", ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]),
        ("thinking-2507", "0.8.5", ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]),
        ("thinking-2507", "0.10.0", ["--reasoning-parser", "deepseek_r1"]),
        ("instruct-2507", "0.10.0", []),
    ],
)
def test_vllm_reasoning_flags_follow_the_version(family, version_name, expected):
    flags = vllm_parser_flags(family, version(version_name))
    assert flags[:3] == ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    assert flags[3:] == expected


def _engine(name, text):
    launcher = ("vllm", "serve") if name == "vllm" else ("python", "-m", "sglang.launch_server")
    return Engine(name, version(text), text, launcher)


@pytest.mark.parametrize(
    "engine, family, version_name, words",
    [
        ("vllm", "hybrid", "0.10.1", "reasoning parser qwen3"),
        ("vllm", "hybrid", "0.8.5", "vLLM 0.8.5 predates the qwen3 reasoning parser (0.9.0)"),
        ("vllm", "thinking-2507", "0.9.2", "reasoning parser deepseek_r1"),
        ("vllm", "instruct-2507", "0.10.1", "no reasoning parser (Instruct-2507 never thinks)"),
        ("vllm", "coder", "0.10.0", "qwen3_coder parser"),
        ("vllm", "coder", "0.9.2", "vLLM 0.9.2 predates the qwen3_coder tool parser (0.10.0), so hermes"),
        ("sglang", "hybrid", "0.5.23", "SGLang's qwen (hermes-style) parser; reasoning parser qwen3"),
        (
            "sglang",
            "hybrid",
            "0.5.3",
            "qwen25 (hermes-style) parser (SGLang 0.5.3 predates its new name qwen",
        ),
        ("sglang", "hybrid", "0.4.6", "no reasoning parser: SGLang 0.4.6 predates qwen3's (0.4.6.post1)"),
        (
            "sglang",
            "coder",
            "0.4.9",
            "SGLang 0.4.9 predates the qwen3_coder tool parser (0.4.9.post4), so qwen25",
        ),
    ],
)
def test_parser_flags_are_explained_for_the_installed_version(engine, family, version_name, words):
    assert words in parser_flags_reason(family, _engine(engine, version_name))


# SGLang's names per release, read from each release's own registries (see agentkit/serving/enginefacts.py).
SGLANG_FLAGS = [
    ("hybrid", "0.4.6", ["--tool-call-parser", "qwen25"]),
    ("hybrid", "0.4.6.post1", ["--tool-call-parser", "qwen25", "--reasoning-parser", "qwen3"]),
    ("hybrid", "0.5.3.post3", ["--tool-call-parser", "qwen25", "--reasoning-parser", "qwen3"]),
    ("hybrid", "0.5.4", ["--tool-call-parser", "qwen", "--reasoning-parser", "qwen3"]),
    ("hybrid", "0.5.10", ["--tool-call-parser", "qwen", "--reasoning-parser", "qwen3"]),
    ("hybrid", "0.4.9", ["--tool-call-parser", "qwen25", "--reasoning-parser", "qwen3"]),
    ("hybrid", "0.5.23", ["--tool-call-parser", "qwen", "--reasoning-parser", "qwen3"]),
    ("thinking-2507", "0.4.6", ["--tool-call-parser", "qwen25", "--reasoning-parser", "deepseek-r1"]),
    ("thinking-2507", "0.5.23", ["--tool-call-parser", "qwen", "--reasoning-parser", "deepseek-r1"]),
    ("instruct-2507", "0.5.23", ["--tool-call-parser", "qwen"]),
    ("coder", "0.4.6", ["--tool-call-parser", "qwen25"]),
    ("coder", "0.4.9", ["--tool-call-parser", "qwen25"]),
    ("coder", "0.4.9.post3", ["--tool-call-parser", "qwen25"]),
    ("coder", "0.4.9.post4", ["--tool-call-parser", "qwen3_coder"]),
    ("coder", "0.4.9.post6", ["--tool-call-parser", "qwen3_coder"]),
    ("coder", "0.5.23", ["--tool-call-parser", "qwen3_coder"]),
]


@pytest.mark.parametrize("family, version_name, expected", SGLANG_FLAGS)
def test_sglang_parser_names_follow_the_version(family, version_name, expected):
    assert sglang_parser_flags(family, version(version_name)) == expected


def test_coder_flags():
    assert vllm_parser_flags("coder", version("0.10.0"))[-1] == "qwen3_coder"
    assert vllm_parser_flags("coder", version("0.9.2"))[-1] == "hermes"
    assert model("Qwen3-Coder-30B-A3B-Instruct").family == "coder"


def test_parse_version_keeps_post_releases_and_skips_log_lines():
    assert parse_version(
        "INFO 05-01 [__init__.py:239] Automatically detected platform cuda.\n0.8.5.post1\n"
    ) == (0, 8, 5, 1)
    assert parse_version("0.4.6.post1") > parse_version("0.4.6")
    assert parse_version("0.4.9.post6") < parse_version("0.4.10")
    assert parse_version("0.10.1rc2.dev12+g1234") == (0, 10, 1, 0)
    assert parse_version("0.10.1.1") == (0, 10, 1, 0)
    assert parse_version("no version here") is None


def test_ray_plan_command_and_sglang_command():
    plan = make_plan(model("Qwen3-235B-A22B"), gpus(8, 46068, "NVIDIA L40S"), cluster=RayCluster(2, 16))
    vllm = _engine("vllm", "0.10.1")
    (replica,) = plan.replicas(8000)
    cmd = build_command(plan, replica, vllm, model_arg="Qwen/Qwen3-235B-A22B", served_name="q")
    joined = " ".join(cmd)
    assert "--tensor-parallel-size 8 --pipeline-parallel-size 2 --enable-expert-parallel" in joined
    assert "--distributed-executor-backend ray" in joined
    sglang = _engine("sglang", "0.5.2")
    with pytest.raises(ServingError, match="Use --engine vllm"):
        build_command(plan, replica, sglang, model_arg="m", served_name="q")
    plan = make_plan(model("Qwen3-32B"), gpus(4))
    cmd = build_command(plan, plan.replicas(9000)[1], sglang, model_arg="Qwen/Qwen3-32B", served_name="q")
    assert cmd[:3] == ["python", "-m", "sglang.launch_server"]
    assert " ".join(cmd[3:]).startswith(
        "--model-path Qwen/Qwen3-32B --served-model-name q --host 127.0.0.1 --port 9001 --tp-size 2 "
        "--context-length 40960 --tool-call-parser qwen25 --reasoning-parser qwen3"
    )
    assert "--mem-fraction-static" not in cmd  # SGLang chooses it unless the user does


def test_hf_name_resolves_in_the_local_cache(tmp_path, monkeypatch):
    snapshot = tmp_path / "hub" / "models--Qwen--Qwen3-32B" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text((MODELS / "Qwen3-32B" / "config.json").read_text())
    (tmp_path / "hub" / "models--Qwen--Qwen3-32B" / "refs").mkdir()
    (tmp_path / "hub" / "models--Qwen--Qwen3-32B" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    assert resolve_model_dir("Qwen/Qwen3-32B") == snapshot
    info = load_model_info("Qwen/Qwen3-32B")
    assert info.name == "Qwen/Qwen3-32B" and info.weights_problem.startswith("no weight files")
    (snapshot / "model-00001-of-00002.safetensors").write_bytes(b"")
    (snapshot / "model.safetensors.index.json").write_text(
        '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}'
    )
    assert load_model_info("Qwen/Qwen3-32B").weights_problem.startswith("1 of 2 weight shards missing")
    (snapshot / "model-00002-of-00002.safetensors").write_bytes(b"")
    assert load_model_info("Qwen/Qwen3-32B").weights_problem is None
    with pytest.raises(ServingError, match="hf download Qwen/Qwen3-8B"):
        resolve_model_dir("Qwen/Qwen3-8B")
    with pytest.raises(ServingError, match="neither a local folder nor a Hugging Face name"):
        resolve_model_dir("no-such-folder")
