"""Every command the planner emits, parsed by the real vLLM and SGLang argument parsers.

The engines (newest wheels, no GPU dependencies) live in their own venv, installed by
``.ci/install_engines_parsers.sh``; ``tests/engine_parsers.py`` runs there, builds vLLM's
``make_arg_parser`` (CPU platform) and SGLang's ``prepare_server_args`` and parses each command. The
fixture models × layouts cover 1×24 GB, 1×80, 4×80, 8×80, 8×141 (H200), 4×96 (H20) and 2 nodes × 8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.serving.enginefacts import NEWEST_KNOWN, SGLANG_DEPRECATED_TOOL_PARSERS, version_text
from agentkit.serving.errors import ServingError
from agentkit.serving.flags import build_command, detect_engine
from agentkit.serving.gpus import parse_gpu_layout
from agentkit.serving.modelinfo import load_model_info
from agentkit.serving.planner import make_plan
from agentkit.serving.raycluster import RayCluster
from tests.e2e_helpers import missing_peer

REPO = Path(__file__).parent.parent
MODELS = REPO / "tests" / "fixtures" / "models"
VENV = Path(os.environ.get("AGENTKIT_ENGINES_VENV", "~/.cache/agentkit/engines-venv")).expanduser()
PYTHON = VENV / "bin" / "python"
FIXTURE_MODELS = sorted(p.name for p in MODELS.iterdir() if (p / "config.json").is_file())
CATALOG_MODELS = ["Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8"]
LAYOUTS = ["1x24", "1x80", "4x80", "8x80", "8xH200", "4xH20", "2x8x80", "2x8xL40S"]

if not PYTHON.is_file():
    message = f"no engines venv at {VENV}: run `bash .ci/install_engines_parsers.sh`"
    missing_peer(message)


def _plans(engine):
    """(label, plan) for every model × layout the planner accepts on this engine."""
    out = []
    for name in FIXTURE_MODELS + CATALOG_MODELS:
        info = load_model_info(str(MODELS / name) if "/" not in name else name)
        for layout_text in LAYOUTS:
            layout = parse_gpu_layout(layout_text)
            cluster = RayCluster(layout.nodes, layout.nodes * len(layout.gpus)) if layout.nodes > 1 else None
            try:
                plan = make_plan(info, layout.gpus, cluster=cluster, engine=engine.name)
            except ServingError:
                continue  # does not fit: the planner's own tests cover the message
            if plan.ray and engine.name == "sglang":
                continue  # agentkit runs multi-node plans on vLLM only (build_command says so)
            out.append((f"{name} on {layout_text}", plan))
    return out


def _command_args(plan, engine, **kwargs):
    (replica, *_) = plan.replicas(8000)
    cmd = build_command(
        plan, replica, engine, model_arg=str(plan.model.path or plan.model.name), served_name="q"
    )
    return cmd[len(engine.launcher) :]


@pytest.fixture(scope="module")
def engines():
    env = {**os.environ, "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env["AGENTKIT_SGLANG_PYTHON"] = str(PYTHON)
    started = time.monotonic()
    found = {name: detect_engine(name, env) for name in ("vllm", "sglang")}
    return found, time.monotonic() - started


@pytest.fixture(scope="module")
def parsed(engines):
    """The engines' verdict on every planned command, plus two known-bad ones that prove the check bites."""
    found, _ = engines
    cases = []
    for name in ("vllm", "sglang"):
        for label, plan in _plans(found[name]):
            cases.append((name, label, plan, _command_args(plan, found[name])))
    sglang_asked = make_plan(
        load_model_info(str(MODELS / "Qwen3-32B")),
        parse_gpu_layout("4x80").gpus,
        engine="sglang",
        gpu_memory_utilization=0.8,
    )
    cases.append(
        (
            "sglang",
            "Qwen3-32B on 4x80, --gpu-memory-utilization 0.8",
            sglang_asked,
            _command_args(sglang_asked, found["sglang"]),
        )
    )
    model = str(MODELS / "Qwen3-32B")
    probes = [
        {"engine": "sglang", "args": ["--model-path", model, "--tool-call-parser", "qwen25"]},
        {"engine": "vllm", "args": [model, "--enable-auto-tool-choice", "--tool-call-parser", "qwen25"]},
    ]
    request = {"commands": [{"engine": e, "args": a} for e, _, _, a in cases] + probes}
    run = subprocess.run(
        [str(PYTHON), str(REPO / "tests" / "engine_parsers.py")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    results = out["results"]
    return out, list(zip(cases, results[: len(cases)])), results[len(cases) :]


def test_versions_come_from_package_metadata_fast_and_are_at_least_the_known_ones(engines, parsed):
    found, seconds = engines
    out, _, _ = parsed
    assert seconds < 30  # `vllm --version` alone takes 17-25 s and needs a device
    for name, engine in found.items():
        assert engine.source.startswith("package metadata, read by "), engine.source
        assert engine.version_text == out["versions"][name]
        assert engine.version >= NEWEST_KNOWN[name], (
            f"the test installed an older {name}: {engine.version_text}"
        )
        words = engine.planned_for()
        assert words.startswith(f"{name} {engine.version_text} (package metadata")
        assert ("untested on" in words) == (engine.version > NEWEST_KNOWN[name])


def test_every_planned_command_is_accepted_by_the_engine_without_deprecations(parsed):
    _, checked, _ = parsed
    assert len(checked) > 60  # models × layouts × engines, minus what does not fit
    problems = [
        f"{engine}: {label}: {result.get('error') or result['deprecated']}\n  {' '.join(args)}"
        for (engine, label, _, args), result in checked
        if not result["ok"] or result["deprecated"]
    ]
    assert not problems, "\n".join(problems)


def test_the_engines_parse_what_the_plan_means(parsed):
    _, checked, _ = parsed
    for (engine, label, plan, _), result in checked:
        values = result["values"]
        if engine == "vllm":
            assert values["tensor_parallel_size"] == plan.tp, label
            assert values["pipeline_parallel_size"] == plan.pp, label
            assert values["data_parallel_size"] == (plan.data_parallel if plan.engine_dp else 1), label
            assert values["enable_expert_parallel"] == plan.expert_parallel, label
            assert values["max_model_len"] == plan.max_model_len, label
            assert values["gpu_memory_utilization"] == plan.gpu_memory_utilization, label
        else:
            assert values["tp_size"] == plan.tp, label
            assert values["ep_size"] == (plan.tp if plan.expert_parallel else 1), label
            assert values["context_length"] == plan.max_model_len, label
            expected = plan.gpu_memory_utilization if plan.utilization_given else None
            assert values["mem_fraction_static"] == expected, label  # None: SGLang chooses


def test_parser_names_are_in_the_engines_registries(parsed):
    out, checked, _ = parsed
    registries = out["registries"]
    used = {"vllm": set(), "sglang": set()}
    for (engine, label, _, _), result in checked:
        for kind in ("tool_call_parser", "reasoning_parser"):
            name = result["values"][kind]
            if name:
                assert name in registries[engine][f"{kind}s"], f"{engine}: {label}: {kind} {name}"
                used[engine].add(name)
    assert used["vllm"] >= {"hermes", "qwen3", "qwen3_coder", "deepseek_r1"}
    assert used["sglang"] >= {"qwen", "qwen3", "qwen3_coder", "deepseek-r1"}
    assert not used["sglang"] & set(SGLANG_DEPRECATED_TOOL_PARSERS)


def test_the_check_itself_catches_deprecated_and_unknown_names(parsed):
    _, _, (sglang_old, vllm_unknown) = parsed
    assert sglang_old["ok"] and any("qwen25" in d for d in sglang_old["deprecated"])
    assert not vllm_unknown["ok"] and "qwen25" in vllm_unknown["error"]


def test_the_dry_run_names_the_real_engine_version_and_its_source(engines):
    found, _ = engines
    env = {**os.environ, "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentkit",
            "serve",
            "Qwen/Qwen3-235B-A22B-FP8",
            "--dry-run",
            "--gpus",
            "8x80",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**env, "HF_HUB_CACHE": "/nonexistent"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    vllm = found["vllm"]
    assert f"planned for vllm {vllm.version_text} (package metadata, read by {PYTHON}" in run.stdout
    assert "--data-parallel-size 8 --enable-expert-parallel" in run.stdout
    assert "alternative: --data-parallel replicas" in run.stdout
    assert version_text(NEWEST_KNOWN["vllm"]) in run.stdout
