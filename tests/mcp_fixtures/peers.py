"""Where the real MCP peers are, how to run them, and a process-leak check that reads /proc."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e_helpers import missing_peer

HERE = Path(__file__).parent
TOOLS_SERVER = [sys.executable, str(HERE / "tools_server.py")]
HANG_SERVER = [sys.executable, str(HERE / "hang_server.py")]
MARK = "AGENTKIT_TEST_MARK"


def everything_bin() -> str | None:
    """The server-everything launcher installed by .ci/install_mcp_peers.sh, or one on PATH."""
    prefix = Path(os.environ.get("AGENTKIT_MCP_PEERS", Path.home() / ".cache/agentkit/mcp-peers"))
    local = prefix / "node_modules/.bin/mcp-server-everything"
    if local.exists() and shutil.which("node"):
        return str(local)
    return shutil.which("mcp-server-everything")


def require_everything() -> str:
    path = everything_bin()
    if path is None:
        missing_peer(
            "@modelcontextprotocol/server-everything is not installed (needs node/npm): run .ci/install_mcp_peers.sh"
        )
    return path


def require_memory() -> str:
    """The server-memory launcher installed by .ci/install_mcp_peers.sh (or one on PATH)."""
    prefix = Path(os.environ.get("AGENTKIT_MCP_PEERS", Path.home() / ".cache/agentkit/mcp-peers"))
    local = prefix / "node_modules/.bin/mcp-server-memory"
    path = str(local) if local.exists() and shutil.which("node") else shutil.which("mcp-server-memory")
    if path is None:
        missing_peer(
            "@modelcontextprotocol/server-memory is not installed (needs node/npm): run .ci/install_mcp_peers.sh"
        )
    return path


def require_time_server() -> str:
    path = shutil.which("mcp-server-time")
    if path is None:
        pytest.skip("mcp-server-time is not installed: run .ci/install_mcp_peers.sh")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def everything_http(transport: str, port: int | None = None):
    """server-everything over ``sse`` or ``streamableHttp`` on 127.0.0.1; yields its base URL."""
    binary = require_everything()
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k != MARK}
    env.update(PORT=str(port), NODE_OPTIONS=f"--require {HERE / 'loopback.cjs'}")
    stderr = tempfile.TemporaryFile()  # a pipe nobody reads could fill up and stall the server
    proc = subprocess.Popen(
        [binary, transport], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    err = stderr.read().decode(errors="replace")
                    raise RuntimeError(
                        f"server-everything {transport} did not come up: {err[-500:]}"
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


def marked_processes(mark: str) -> list[str]:
    """``pid cmdline`` of every process whose environment has ``AGENTKIT_TEST_MARK=mark`` (zombies excluded)."""
    needle = f"\0{MARK}={mark}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in b"\0" + (entry / "environ").read_bytes() + b"\0":
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(f"{entry.name} {cmdline.strip()}")
    return found


@pytest.fixture
def no_leftover_processes(monkeypatch):
    """Every process started during the test inherits a mark; none may be running after it."""
    mark = uuid.uuid4().hex
    monkeypatch.setenv(MARK, mark)
    yield mark
    deadline = time.monotonic() + 0.5
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left running after the test: {left}"
