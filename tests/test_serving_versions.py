"""How agentkit learns an engine's version, what it does with a newer or older one, SGLang's memory terms,
vLLM's data parallelism and the context rule's alternative."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from agentkit.serving.enginefacts import NEWEST_KNOWN, version, version_text
from agentkit.serving.errors import ServingError
from agentkit.serving.flags import detect_engine, script_interpreter
from agentkit.serving.gpus import parse_gpu_layout
from agentkit.serving.modelinfo import load_model_info
from agentkit.serving.planner import make_plan, sglang_static_fraction
from agentkit.serving.spec import ServeOptions, prepare

REPO = Path(__file__).parent.parent
MODELS = REPO / "tests" / "fixtures" / "models"
FAKES = REPO / "tests" / "fakes" / "bin"


def model(name):
    return load_model_info(str(MODELS / name))


def layout(text):
    return parse_gpu_layout(text).gpus


def _installed_vllm(tmp_path: Path, release: str) -> dict[str, str]:
    """A `vllm` console script whose interpreter finds vllm-<release> metadata (and nothing else)."""
    site = tmp_path / "site"
    info = site / f"vllm-{release}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {release}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "vllm"
    exe.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('--version must not be needed')\n")
    exe.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(site)}


def test_interpreter_behind_a_console_script(tmp_path):
    direct = tmp_path / "direct"
    direct.write_text("#!/opt/venv/bin/python3.12\nprint()\n")
    assert script_interpreter(str(direct)) == "/opt/venv/bin/python3.12"
    trampoline = tmp_path / "trampoline"  # what pip writes when the interpreter's path is long or has spaces
    trampoline.write_text(
        "#!/bin/sh\n'''exec' \"/very long/venv/bin/python\" \"$0\" \"$@\"\n' '''\nimport sys\n"
    )
    assert script_interpreter(str(trampoline)) == "/very long/venv/bin/python"
    via_env = tmp_path / "via_env"
    via_env.write_text("#!/usr/bin/env python3\n")
    assert script_interpreter(str(via_env), os.environ["PATH"]).endswith("python3")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\x7fELF\x02\x01")
    assert script_interpreter(str(binary)) is None


def test_vllm_version_from_package_metadata_fast_and_a_newer_one_is_named(tmp_path):
    env = _installed_vllm(tmp_path, "0.35.0")
    started = time.monotonic()
    engine = detect_engine("vllm", env)
    assert time.monotonic() - started < 10
    assert engine.version_text == "0.35.0"
    assert engine.source == f"package metadata, read by {sys.executable}"
    assert engine.newer_than_known
    known = version_text(NEWEST_KNOWN["vllm"])
    assert engine.planned_for().endswith(f"; flags for ≥ {known}, untested on 0.35.0")
    spec = prepare(ServeOptions(path=str(MODELS / "Qwen3-32B"), gpus="4x80"), dry_run=True, env=env)
    described = spec.describe()
    assert (
        f"planned for vllm 0.35.0 (package metadata, read by {sys.executable}); flags for ≥ {known}"
        in described
    )
    assert spec.to_dict()["engine_newer_than_known"] is True


def test_without_metadata_vllm_is_asked_with_version(tmp_path):
    env = {**os.environ, "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}", "FAKE_VLLM_VERSION": "0.9.2"}
    engine = detect_engine("vllm", env)
    assert engine.version == version("0.9.2") and engine.source.endswith("vllm --version`")
    assert not engine.newer_than_known and "untested" not in engine.planned_for()


def test_an_old_vllm_keeps_replicas_and_says_why(tmp_path):
    env = _installed_vllm(tmp_path, "0.8.5.post1")
    spec = prepare(ServeOptions(path=str(MODELS / "Qwen3-235B-A22B-FP8"), gpus="8x80"), dry_run=True, env=env)
    assert not spec.plan.engine_dp and spec.plan.data_parallel == 2 and spec.plan.tp == 4
    assert any("predates agentkit's use of its data parallelism (0.9.0)" in n for n in spec.notes)
    assert "--enable-reasoning --reasoning-parser deepseek_r1" in " ".join(spec.commands[0])
    new = prepare(
        ServeOptions(path=str(MODELS / "Qwen3-235B-A22B-FP8"), gpus="8x80"),
        dry_run=True,
        env=_installed_vllm(tmp_path / "new", "0.34.0"),
    )
    assert new.plan.engine_dp and len(new.commands) == 1
    assert "--data-parallel-size 8 --enable-expert-parallel" in " ".join(new.commands[0])
    assert new.replicas[0].gpus == tuple(range(8))


@pytest.mark.parametrize(
    "gpu_mib, tp, fraction",
    [(24564, 1, 0.72), (81559, 1, 0.835), (81559, 8, 0.818), (143771, 1, 0.907), (97871, 4, 0.854)],
)
def test_sglang_fraction_is_estimated_as_sglang_chooses_it(gpu_mib, tp, fraction):
    assert sglang_static_fraction(gpu_mib, tp) == fraction


def test_sglang_memory_terms_and_the_flag_only_when_asked():
    plan = make_plan(model("Qwen3-32B"), layout("4x80"), engine="sglang")
    gpu = 81559 * 2**20
    assert plan.gpu_memory_utilization == 0.834 and not plan.utilization_given
    assert plan.kv_room_per_gpu == int(gpu * 0.834) - plan.weights_per_gpu  # no extra reserve inside
    assert plan.reserve_per_gpu == gpu - int(gpu * 0.834)
    assert "mem_fraction_static 0.834 of 79.6 GiB, SGLang's own choice, estimated" in plan.reasons[-1]
    asked = prepare(
        ServeOptions(
            path=str(MODELS / "Qwen3-32B"), gpus="4x80", engine="sglang", gpu_memory_utilization=0.8
        ),
        dry_run=True,
        env={**os.environ, "AGENTKIT_SGLANG_PYTHON": "/nonexistent/python"},
    )
    assert "--mem-fraction-static 0.8" in " ".join(asked.commands[0])
    assert any("covers weights and KV cache only" in n for n in asked.notes)
    assert asked.engine.version_text == "0.5.23" and asked.engine.source.startswith("assumed")


def test_data_parallel_choice_can_be_forced_either_way():
    replicas = make_plan(model("Qwen3-235B-A22B-FP8"), layout("8x80"), data_parallel="replicas")
    assert not replicas.engine_dp and replicas.alternative is None
    engine = make_plan(model("Qwen3-30B-A3B"), layout("4x80"), data_parallel="engine")
    assert engine.engine_dp and engine.data_parallel == 4 and engine.expert_parallel
    auto = make_plan(model("Qwen3-30B-A3B"), layout("4x80"))
    assert not auto.engine_dp and auto.data_parallel == 4  # fits one GPU: replicas keep prefix affinity
    with pytest.raises(ServingError, match="with SGLang use replicas"):
        make_plan(model("Qwen3-30B-A3B"), layout("4x80"), engine="sglang", data_parallel="engine")


def test_the_context_rule_shows_its_alternative():
    keep = make_plan(model("Qwen3-32B"), layout("4x80"))
    assert keep.max_model_len == 40960 and keep.tp == 2
    assert keep.alternative.startswith("alternative: `--max-model-len 24576 --tp 1` gives 4 replicas of TP 1")
    lowered = make_plan(model("Qwen3-30B-A3B-Instruct-2507"), layout("1x80"))
    assert lowered.max_model_len == 112640
    assert lowered.alternative.startswith("alternative: the full 262144-token context needs TP 2")
    sglang = make_plan(model("Qwen3-30B-A3B-Instruct-2507"), layout("4x80"), engine="sglang")
    assert (sglang.tp, sglang.data_parallel, sglang.max_model_len) == (2, 2, 262144)
    assert "gives 4 replicas of TP 1 instead of 2 of TP 2" in sglang.alternative
    vllm = make_plan(model("Qwen3-30B-A3B-Instruct-2507"), layout("4x80"))
    assert vllm.engine_dp and vllm.max_model_len == 262144 and vllm.data_parallel == 4
    assert vllm.alternative.startswith("alternative: --data-parallel replicas: 2 separate server(s) of TP 2")


def test_catalog_matches_the_published_configs_in_the_fixtures():
    from agentkit.serving.catalog import catalog_config
    from agentkit.serving.modelinfo import model_info_from_config

    for folder in MODELS.iterdir():
        fixture = model(folder.name)
        built_in = model_info_from_config(catalog_config(f"Qwen/{folder.name}"), name=folder.name)
        for field in (
            "params",
            "active_params",
            "weight_bytes",
            "layers",
            "kv_heads",
            "head_dim",
            "max_context",
        ):
            assert getattr(built_in, field) == getattr(fixture, field), (folder.name, field)
        assert built_in.expert_weight_bytes == fixture.expert_weight_bytes
