"""``python -m agentkit.testing.simulator`` as a real subprocess: ready line, real requests, clean SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentkit.testing import serve_in_thread

SCRIPT = Path(__file__).parent / "fixtures" / "scripts" / "weather.yaml"


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agentkit.testing.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(sig):
    proc = start("--script", str(SCRIPT), "--port", "0")
    try:
        line = proc.stdout.readline()
        assert "not a model" in line
        base_url = line.split()[-1]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with httpx.Client(base_url=base_url, timeout=5) as client:
            assert client.get("/models").json()["data"][0]["id"] == "qwen3-sim"
            reply = client.post(
                "/chat/completions", json={"messages": [{"role": "user", "content": "capital of France?"}]}
            )
            assert reply.json()["choices"][0]["message"]["content"] == "Paris."
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_a_bad_script_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("replies: [Hi]\nvarient: coder\n")
    proc = start("--script", str(bad), "--port", "0")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "unknown key 'varient'; did you mean 'variant'?" in err and "Traceback" not in err


def test_cli_names_a_busy_port():
    with serve_in_thread({"replies": ["x"]}) as sim:
        proc = start("--script", str(SCRIPT), "--port", str(sim.port))
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{sim.port}" in err and "pick another --port" in err
