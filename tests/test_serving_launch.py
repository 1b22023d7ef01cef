"""Launching with stand-in `vllm`, `nvidia-smi` and SGLang on PATH: flags, readiness, failures, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from agentkit.serving import ServingError, ensure_server
from agentkit.serving.launcher import group_members
from agentkit.serving.spec import port_free

FAKES = Path(__file__).parent / "fakes"
MODELS = Path(__file__).parent / "fixtures" / "models"
REPO = Path(__file__).parent.parent


def free_ports(count: int) -> int:
    """A base port with ``count`` free consecutive ports after it."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count < 65000 and all(port_free("127.0.0.1", p) for p in range(base, base + count)):
            return base
    raise RuntimeError("no free ports")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fakes first on PATH, records and pids in tmp_path, and a model folder with (empty) weights."""
    monkeypatch.setenv("PATH", f"{FAKES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKES / "pylib"), str(REPO)]))
    monkeypatch.setenv("FAKE_ENGINE_RECORD", str(tmp_path / "record.jsonl"))
    monkeypatch.setenv("FAKE_ENGINE_PIDFILE", str(tmp_path / "pids"))
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.2")
    monkeypatch.setenv("AGENTKIT_SERVE_DIR", str(tmp_path / "serve"))
    for key in ("CUDA_VISIBLE_DEVICES", "FAKE_ENGINE_MODE", "FAKE_GPUS", "FAKE_RAY_NODES", "RAY_ADDRESS"):
        monkeypatch.delenv(key, raising=False)

    def make_model(name: str) -> Path:
        folder = tmp_path / "models" / name
        folder.mkdir(parents=True)
        shutil.copy(MODELS / name / "config.json", folder / "config.json")
        (folder / "model-00001-of-00001.safetensors").write_bytes(b"")
        return folder

    def records() -> list[dict]:
        path = tmp_path / "record.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def pids() -> list[int]:
        path = tmp_path / "pids"
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    class Fake:
        pass

    f = Fake()
    f.make_model, f.records, f.pids, f.tmp = make_model, records, pids, tmp_path
    return f


@pytest.mark.anyio
async def test_launches_two_tp2_replicas_on_four_gpus_and_cleans_up(fake):
    folder = fake.make_model("Qwen3-32B")
    port = free_ports(2)
    statuses = []
    async with ensure_server({"path": str(folder), "port": port}, on_status=statuses.append) as server:
        assert server.started
        assert server.replicas == (f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{port + 1}/v1")
        assert server.base_url == server.replicas[0]
        assert server.model == "Qwen3-32B" and server.max_model_len == 40960
        async with httpx.AsyncClient() as client:
            for url in server.replicas:
                models = (await client.get(url + "/models")).json()
                assert models["data"][0]["id"] == "Qwen3-32B"
        started = fake.pids()
        assert len(started) == 4 and all(alive(p) for p in started)
        assert (Path(server.log_dir) / "plan.json").is_file()
    assert not any(alive(p) for p in started)
    for pid in started[::2]:
        assert group_members(pid) == []
    runs = sorted(fake.records(), key=lambda r: r["env"]["CUDA_VISIBLE_DEVICES"])
    assert [r["env"]["CUDA_VISIBLE_DEVICES"] for r in runs] == ["0,1", "2,3"]
    assert all(r["env"]["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID" for r in runs)
    argv = runs[0]["argv"]
    joined = " ".join(argv)
    assert argv[:2] == ["serve", str(folder.resolve())]
    assert f"--served-model-name Qwen3-32B --host 127.0.0.1 --port {port}" in joined
    assert "--tensor-parallel-size 2" in joined
    assert "--enable-auto-tool-choice --tool-call-parser hermes --reasoning-parser qwen3" in joined
    assert "--enable-reasoning" not in joined
    assert statuses[0].startswith("Plan for Qwen3-32B on vllm 0.10.1")
    assert "  - parsers: tool calls parsed by hermes; reasoning parser qwen3\n" in statuses[0]


@pytest.mark.anyio
async def test_keep_leaves_the_servers_running_and_says_how_to_stop_them(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "2")
    folder = fake.make_model("Qwen3-0.6B")
    port = free_ports(2)
    statuses = []
    try:
        async with ensure_server(
            {"path": str(folder), "port": port}, keep=True, on_status=statuses.append
        ) as s:
            assert len(s.replicas) == 2
        leaders = fake.pids()[::2]
        assert all(alive(p) for p in fake.pids())
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port + 1}/health")).status_code == 200
        assert statuses[-1].startswith(f"left running: Qwen3-0.6B at http://127.0.0.1:{port}/v1, ")
        _, _, command = statuses[-1].partition("stop it with `kill -TERM -- ")
        assert command.endswith("`") and {-int(g) for g in command[:-1].split()} == set(leaders)
        async with ensure_server({"path": str(folder), "port": port}, on_status=statuses.append) as again:
            assert not again.started and again.replicas == s.replicas
        assert all(alive(p) for p in fake.pids())  # a reused server is not ours to stop
    finally:
        for pid in fake.pids()[::2]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.mark.anyio
async def test_older_vllm_gets_the_older_reasoning_flags(fake, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_VERSION", "0.8.4")
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    async with ensure_server({"path": str(folder), "port": free_ports(1)}):
        pass
    (run,) = fake.records()
    assert run["argv"][-3:] == ["--enable-reasoning", "--reasoning-parser", "deepseek_r1"]


@pytest.mark.parametrize(
    "version, tail",
    [
        ("0.8.5.post1", "--enable-reasoning --reasoning-parser deepseek_r1"),
        ("0.9.2", "--tool-call-parser hermes --reasoning-parser qwen3"),
    ],
)
def test_dry_run_command_follows_the_installed_vllm(fake, monkeypatch, version, tail):
    monkeypatch.setenv("FAKE_VLLM_VERSION", version)
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "serve", str(MODELS / "Qwen3-32B"), "--dry-run", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["engine_version"] == version  # post releases kept
    assert plan["engine_version_source"].endswith("--version`")  # the stand-in has no package metadata
    assert all(r["command"].endswith(tail) for r in plan["replicas"])
    assert ("predates the qwen3 reasoning parser" in plan["parsers"]) == version.startswith("0.8")


@pytest.mark.anyio
async def test_oom_is_diagnosed_within_seconds_with_the_next_plans(fake, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "oom_hang")
    folder = fake.make_model("Qwen3-32B")
    start = time.monotonic()
    with pytest.raises(ServingError) as err:
        async with ensure_server({"path": str(folder), "port": free_ports(2), "gpus": "0,1"}):
            pytest.fail("must not become ready")
    assert time.monotonic() - start < 8
    message = str(err.value)
    assert "out of GPU memory (TP 2, max_model_len 40960" in message
    assert f"python -m agentkit serve {folder.resolve()} --tp" not in message  # TP 2 is already all 2 GPUs
    assert "--max-model-len 20480" in message
    assert "CUDA out of memory" in message  # the log's last lines
    assert not any(alive(p) for p in fake.pids())


@pytest.mark.anyio
async def test_early_exit_is_detected_at_once(fake, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "exit")
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    start = time.monotonic()
    with pytest.raises(ServingError, match="vllm exited with status 3 while starting Qwen3-0.6B") as err:
        async with ensure_server({"path": str(folder), "port": free_ports(1)}):
            pass
    assert time.monotonic() - start < 5
    assert "Engine core initialization failed" in str(err.value)
    assert "log: " in str(err.value)


@pytest.mark.anyio
async def test_readiness_timeout_stops_a_hung_engine(fake, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "hang")
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    from agentkit.serving.ensure import start_servers
    from agentkit.serving.spec import ServeOptions, prepare

    spec = prepare(ServeOptions(path=str(folder), port=free_ports(1), timeout=1.5))
    with pytest.raises(ServingError, match="did not become ready within 2 s .*Still loading") as err:
        await start_servers(spec)
    assert f"allow longer: `python -m agentkit serve {folder.resolve()} --timeout SECONDS`" in str(err.value)
    assert not any(alive(p) for p in fake.pids())


@pytest.mark.anyio
async def test_busy_explicit_port_is_refused_before_launch(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        with pytest.raises(ServingError, match=f"port {port} on 127.0.0.1 is already in use"):
            async with ensure_server({"path": str(folder), "port": port}):
                pass
    assert fake.records() == []


@pytest.mark.anyio
async def test_port_taken_after_planning_is_diagnosed_from_the_log(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    from agentkit.serving.ensure import start_servers
    from agentkit.serving.spec import ServeOptions, prepare

    spec = prepare(ServeOptions(path=str(folder), port=free_ports(1)))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", spec.replicas[0].port))
        busy.listen()
        with pytest.raises(ServingError, match=f"port {spec.replicas[0].port} is already in use"):
            await start_servers(spec)


@pytest.mark.anyio
async def test_reuses_a_server_already_serving_the_model(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    port = free_ports(1)
    async with ensure_server({"path": str(folder), "port": port}) as first:
        async with ensure_server({"path": str(folder), "port": port}) as second:
            assert not second.started
            assert second.replicas == first.replicas and second.max_model_len == 40960
        with pytest.raises(ServingError, match=f"port {port} already serves Qwen3-0.6B, not other"):
            async with ensure_server({"path": str(folder), "name": "other", "port": port}):
                pass
    assert len(fake.records()) == 1


@pytest.mark.anyio
async def test_stubborn_engine_is_killed_after_the_grace_period(fake, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "stubborn")
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    from agentkit.serving.ensure import start_servers
    from agentkit.serving.spec import ServeOptions, prepare

    spec = prepare(ServeOptions(path=str(folder), port=free_ports(1)))
    (server,), _ = await start_servers(spec)
    start = time.monotonic()
    server.stop(grace=0.5)
    assert 0.4 < time.monotonic() - start < 4
    assert not any(alive(p) for p in fake.pids())


@pytest.mark.anyio
async def test_sglang_stand_in(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "2")
    folder = fake.make_model("Qwen3-30B-A3B")
    async with ensure_server(
        {"path": str(folder), "engine": "sglang", "port": free_ports(2), "gpus": [1]}
    ) as s:
        assert len(s.replicas) == 1
    (run,) = fake.records()
    assert run["env"]["CUDA_VISIBLE_DEVICES"] == "1"
    joined = " ".join(run["argv"])
    assert "--context-length 40960" in joined
    assert "--tool-call-parser qwen25 --reasoning-parser qwen3" in joined


@pytest.mark.anyio
async def test_missing_engine_and_missing_gpus_are_one_clear_error(fake, monkeypatch, tmp_path):
    folder = fake.make_model("Qwen3-0.6B")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "nvidia-smi").symlink_to(FAKES / "bin" / "nvidia-smi")
    monkeypatch.setenv("PATH", f"{bare}{os.pathsep}/usr/bin{os.pathsep}/bin")
    with pytest.raises(ServingError, match="vLLM is not installed: no `vllm` on PATH"):
        async with ensure_server({"path": str(folder), "port": free_ports(1)}):
            pass
    (bare / "nvidia-smi").unlink()
    with pytest.raises(ServingError, match="no NVIDIA GPU found: nvidia-smi is not on PATH"):
        async with ensure_server({"path": str(folder), "port": free_ports(1)}):
            pass


DRIVER = textwrap.dedent(
    """
    import sys, anyio
    from agentkit.serving import ensure_server

    async def main():
        async with ensure_server({"path": sys.argv[1], "port": int(sys.argv[2])}) as s:
            print("READY", s.base_url, flush=True)
            await anyio.sleep(60)

    anyio.run(main)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signalling_the_parent_stops_the_engine_group(fake, monkeypatch, sig):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(folder), str(free_ports(1))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = driver.stdout.readline()
        assert line.startswith("READY"), driver.stderr.read()
        started = fake.pids()
        assert started and all(alive(p) for p in started)
        driver.send_signal(sig)
        driver.wait(timeout=20)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(p) for p in started)
    finally:
        driver.kill()
        driver.wait()


def test_serve_dry_run_prints_the_plan_and_json(fake):
    env = dict(os.environ)
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "serve", str(MODELS / "Qwen3-30B-A3B"), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "4 data-parallel replicas of TP 1" in run.stdout
    assert "CUDA_VISIBLE_DEVICES=3" in run.stdout and "--port 8003" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "serve", "Qwen/Qwen3-235B-A22B-FP8", "--dry-run", "--json"],
        capture_output=True,
        text=True,
        env={**env, "HF_HUB_CACHE": str(fake.tmp / "empty")},
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr  # planned from the built-in Qwen3 catalog
    plan = json.loads(run.stdout)
    assert plan["model_facts_source"].startswith("agentkit's built-in Qwen3 catalog")
    assert any("not in the local Hugging Face cache" in n for n in plan["notes"])
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "serve", "someone/Unknown-7B", "--dry-run", "--json"],
        capture_output=True,
        text=True,
        env={**env, "HF_HUB_CACHE": str(fake.tmp / "empty")},
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 1
    assert "not in the local Hugging Face cache" in run.stderr and "Traceback" not in run.stderr


def _simulator_script(tmp: Path, model: str) -> Path:
    script = tmp / "script.yaml"
    script.write_text(f"model: {model}\nmax_model_len: 40960\nreplies:\n  - text: Hello from the stand-in.\n")
    return script


@pytest.mark.anyio
async def test_stand_in_serves_the_core_simulator(fake, monkeypatch):
    pytest.importorskip("agentkit.testing.simulator.app", reason="the simulator needs the qwen3 renderer")
    monkeypatch.setenv("FAKE_GPUS", "1")
    monkeypatch.setenv("FAKE_ENGINE_SCRIPT", str(_simulator_script(fake.tmp, "Qwen3-0.6B")))
    folder = fake.make_model("Qwen3-0.6B")
    async with ensure_server({"path": str(folder), "port": free_ports(1)}) as server:
        async with httpx.AsyncClient(timeout=10) as client:
            body = {"model": server.model, "messages": [{"role": "user", "content": "hi"}]}
            reply = (await client.post(server.base_url + "/chat/completions", json=body)).json()
    assert "Hello from the stand-in." in reply["choices"][0]["message"]["content"]
    assert not any(alive(p) for p in fake.pids())


def test_agentkit_run_without_endpoint_launches_runs_and_cleans_up(fake, monkeypatch):
    """`python -m agentkit run` with `model: {path}` and no endpoint, on 4 fake GPUs."""
    pytest.importorskip("agentkit.testing.simulator.app", reason="the simulator needs the qwen3 renderer")
    monkeypatch.setenv("FAKE_ENGINE_SCRIPT", str(_simulator_script(fake.tmp, "Qwen3-32B")))
    folder = fake.make_model("Qwen3-32B")
    port = free_ports(3)
    monkeypatch.setenv("AGENTKIT_ENDPOINT", f"http://127.0.0.1:{port + 2}/v1")  # nothing answers there
    task = fake.tmp / "task.yaml"
    task.write_text(f"model:\n  path: {folder}\n  port: {port}\nprompt: Say hello.\n")
    run = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", str(task), "--json", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=90,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Hello from the stand-in." in json.loads(run.stdout)["output"]
    runs = fake.records()
    assert sorted(r["env"]["CUDA_VISIBLE_DEVICES"] for r in runs) == ["0,1", "2,3"]
    assert all("--tensor-parallel-size" in r["argv"] for r in runs)
    assert fake.pids() and not any(alive(p) for p in fake.pids())


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_sigterm_mid_run_stops_the_run_and_its_engines(fake, monkeypatch, sigint_ignored):
    """SIGTERM while a step streams cleans up like Ctrl-C, also when SIGINT is ignored (`cmd &` in a script)."""
    pytest.importorskip("agentkit.testing.simulator.app", reason="the simulator needs the qwen3 renderer")
    script = fake.tmp / "slow.yaml"
    script.write_text(
        "model: Qwen3-0.6B\nmax_model_len: 40960\nreplies:\n  - text: A slow answer that streams for a while.\n"
        "faults:\n  - {chunk_delay_s: 0.5, times: always}\n"
    )
    monkeypatch.setenv("FAKE_ENGINE_SCRIPT", str(script))
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    port = free_ports(2)
    monkeypatch.setenv("AGENTKIT_ENDPOINT", f"http://127.0.0.1:{port + 1}/v1")  # nothing answers there
    task = fake.tmp / "task.yaml"
    task.write_text(f"model:\n  path: {folder}\n  port: {port}\nprompt: Say hello.\n")
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    run = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "run", str(task), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        preexec_fn=ignore,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sim/requests").json()["requests"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the run never reached the stand-in")
        started = fake.pids()
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=20) == 130, run.stderr.read()
        assert started and not any(alive(p) for p in started)
    finally:
        run.kill()
        run.wait()


def test_killing_the_parent_outright_still_stops_the_engine(fake, monkeypatch):
    """SIGKILL leaves no chance to clean up: the kernel's parent-death signal stops the engine."""
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(folder), str(free_ports(1))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert driver.stdout.readline().startswith("READY")
        started = fake.pids()
        driver.kill()
        driver.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(p) for p in started)
    finally:
        driver.kill()
        driver.wait()


@pytest.mark.parametrize("as_json", [False, True])
def test_serve_command_launches_prints_the_endpoint_and_stops_on_ctrl_c(fake, monkeypatch, as_json):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-Coder-30B-A3B-Instruct")
    port = free_ports(1)
    argv = ["serve", str(folder), "--port", str(port), "--max-model-len", "32768"]
    serve = subprocess.Popen(
        [sys.executable, "-m", "agentkit", *argv, *(["--json"] if as_json else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        line = serve.stdout.readline()
        if as_json:
            ready = json.loads(line)
            assert ready["base_url"] == f"http://127.0.0.1:{port}/v1" and ready["max_model_len"] == 32768
            assert ready["model"] == "Qwen3-Coder-30B-A3B-Instruct" and ready["api_key"] is None
        else:
            expected = f"ready: Qwen3-Coder-30B-A3B-Instruct at http://127.0.0.1:{port}/v1"
            assert line.startswith(expected), serve.stderr.read()
        started = fake.pids()
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=20) == 130
        assert not any(alive(p) for p in started)
    finally:
        serve.kill()
        serve.wait()
    (run,) = fake.records()
    assert run["argv"][-3:] == ["--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder"]
    assert "--max-model-len 32768" in " ".join(run["argv"])


def test_importing_serving_is_cheap():
    code = "import sys, agentkit.serving; print(sorted(m for m in ('httpx', 'anyio', 'agentkit.serving.planner') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr


def test_binding_beyond_loopback_gets_a_hidden_api_key(fake):
    from agentkit.serving.spec import ServeOptions, prepare

    spec = prepare(ServeOptions(path=str(MODELS / "Qwen3-0.6B"), host="0.0.0.0", gpus="0"), dry_run=True)
    assert spec.api_key and len(spec.api_key) > 20
    assert spec.commands[0][-2:] == ["--api-key", spec.api_key]
    text = spec.describe() + json.dumps(spec.to_dict())
    assert spec.api_key not in text and "--api-key '<api-key>'" in text
    assert spec.base_urls() == ["http://127.0.0.1:8000/v1"]
    assert "generated API key" in text


@pytest.mark.parametrize(
    "model, message",
    [
        ({"path": "x", "gpu": [0]}, "unknown model key\\(s\\) gpu; known: "),
        ({"engine": "vllm"}, "model needs `path` \\(a local model folder\\) or `name`"),
        ({"name": "Qwen/Qwen3-8B", "variant": "chat"}, "unknown variant 'chat'; use one of hybrid"),
    ],
)
@pytest.mark.anyio
async def test_bad_model_blocks_are_one_clear_error(fake, model, message):
    with pytest.raises(ServingError, match=message):
        async with ensure_server(model):
            pass


@pytest.mark.anyio
async def test_unknown_engine_is_named(fake):
    model = {"path": str(fake.make_model("Qwen3-0.6B")), "engine": "tgi", "port": free_ports(1)}
    with pytest.raises(ServingError, match="unknown engine 'tgi': use vllm or sglang"):
        async with ensure_server(model):
            pass


@pytest.mark.anyio
async def test_without_a_port_a_busy_default_is_skipped_and_found_again(fake, monkeypatch):
    from agentkit.serving.spec import ServeOptions

    monkeypatch.setenv("FAKE_GPUS", "1")
    base = free_ports(3)
    monkeypatch.setattr(ServeOptions, "DEFAULT_PORT", base)
    folder = fake.make_model("Qwen3-0.6B")
    async with ensure_server({"path": str(folder), "name": "other", "port": base}):
        async with ensure_server({"path": str(folder)}) as mine:
            assert mine.started and mine.base_url == f"http://127.0.0.1:{base + 1}/v1"
            async with ensure_server({"path": str(folder)}) as again:
                assert not again.started and again.base_url == mine.base_url
    assert len(fake.records()) == 2


@pytest.mark.anyio
async def test_missing_weights_are_refused_before_launch(fake, monkeypatch):
    monkeypatch.setenv("FAKE_GPUS", "1")
    folder = fake.make_model("Qwen3-0.6B")
    (folder / "model-00001-of-00001.safetensors").unlink()
    with pytest.raises(
        ServingError, match="no weight files .* the engine would fail. Download the weights"
    ) as err:
        async with ensure_server({"path": str(folder), "port": free_ports(1)}):
            pass
    assert f"hf download Qwen/Qwen3-0.6B --local-dir {folder}" in str(err.value)
    assert fake.records() == []
