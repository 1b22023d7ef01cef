"""GPU inventory (fake nvidia-smi), CUDA_VISIBLE_DEVICES and --gpus, and Ray cluster detection."""

import os
from pathlib import Path

import pytest

from agentkit.serving.errors import ServingError
from agentkit.serving.gpus import list_gpus, parse_gpu_list, parse_nvidia_smi
from agentkit.serving.raycluster import detect_ray_cluster

BIN = Path(__file__).parent / "fakes" / "bin"


@pytest.fixture
def env():
    return {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(autouse=True)
def fake_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


def test_parse_names_with_commas():
    (gpu,) = parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 81559\n")
    assert (gpu.index, gpu.name, gpu.memory_mib) == (0, "NVIDIA H100 80GB HBM3", 81559)
    (gpu,) = parse_nvidia_smi("3, Odd, Name, 24564\n\n")
    assert gpu.name == "Odd, Name" and gpu.memory_bytes == 24564 * 1024**2
    with pytest.raises(ServingError, match="cannot read this nvidia-smi line"):
        parse_nvidia_smi("garbage\n")


def test_inventory_visible_devices_and_selection(env):
    assert [g.index for g in list_gpus(env=env)] == [0, 1, 2, 3]
    assert [g.index for g in list_gpus(env={**env, "CUDA_VISIBLE_DEVICES": "1,3"})] == [1, 3]
    uuid_env = {**env, "CUDA_VISIBLE_DEVICES": "GPU-00000002"}
    assert [g.index for g in list_gpus(env=uuid_env)] == [2]
    assert [g.index for g in list_gpus("2-3", env=env)] == [2, 3]
    with pytest.raises(
        ServingError, match="GPU 0 is not available \\(available: 1, 3; CUDA_VISIBLE_DEVICES=1,3\\)"
    ):
        list_gpus("0,1", env={**env, "CUDA_VISIBLE_DEVICES": "1,3"})
    with pytest.raises(ServingError, match="hides every GPU"):
        list_gpus(env={**env, "CUDA_VISIBLE_DEVICES": ""})


def test_gpu_list_syntax():
    assert parse_gpu_list("0,2,4-5") == [0, 2, 4, 5]
    with pytest.raises(ServingError, match="expected GPU indices"):
        parse_gpu_list("zero")
    with pytest.raises(ServingError, match="distinct"):
        parse_gpu_list("1,1")


def test_ray_cluster_from_ray_status(env):
    assert detect_ray_cluster(env) is None
    cluster = detect_ray_cluster({**env, "FAKE_RAY_NODES": "2", "FAKE_RAY_GPUS": "16"})
    assert (cluster.nodes, cluster.gpus, cluster.gpus_per_node) == (2, 16, 8)


def test_dry_run_shows_the_ray_plan(env, tmp_path):
    from agentkit.serving.spec import ServeOptions, prepare

    models = Path(__file__).parent / "fixtures" / "models"
    spec = prepare(
        ServeOptions(path=str(models / "Qwen3-235B-A22B")),
        dry_run=True,
        env={
            **env,
            "FAKE_GPUS": "8",
            "FAKE_GPU_MIB": "46068",
            "FAKE_GPU_NAME": "NVIDIA L40S",
            "FAKE_RAY_NODES": "2",
            "FAKE_RAY_GPUS": "16",
        },
    )
    text = spec.describe()
    assert "TP 8 within each node, PP 2 across nodes" in text
    assert "--tensor-parallel-size 8 --pipeline-parallel-size 2 --enable-expert-parallel" in text
    assert "--distributed-executor-backend ray" in text
    assert spec.to_dict()["ray"] is True
