"""Finding and ending what a stdio server left behind, by two mechanisms.

On Linux every stdio server runs under ``agentkit.mcp.reaper``, a child subreaper: whatever the server
starts stays in its tree (a double fork, ``setsid`` or a clean environment cannot leave it) and is
ended when the server exits. As a second net, every stdio server starts with a unique value in
``AGENTKIT_MCP_SERVER_ID``; after the server's transport closed, any process still carrying it is
ended (Linux reads ``/proc``; elsewhere this finds nothing).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import time
import uuid
from pathlib import Path

ENV_KEY = "AGENTKIT_MCP_SERVER_ID"
_GRACE = 0.5


_REAPER = str(Path(__file__).with_name("reaper.py"))


def reaped(command: str, args: list[str]) -> tuple[str, list[str]]:
    """The command line that runs ``command args`` under the reaper (Linux; elsewhere unchanged)."""
    if not sys.platform.startswith("linux"):
        return command, args
    return sys.executable, ["-I", _REAPER, command, *args]


def new_marker(server: str) -> str:
    """A value for ``ENV_KEY`` that no other server shares."""
    return f"{server}:{uuid.uuid4().hex}"


_live: set[str] = set()


def track(marker: str) -> None:
    """Remember a server's marker until ``release``; at interpreter exit, stragglers are ended."""
    _live.add(marker)


def release(marker: str) -> list[int]:
    """End whatever still carries ``marker`` and forget it."""
    _live.discard(marker)
    return end_marked(marker)


@atexit.register
def _end_all() -> None:
    for marker in list(_live):
        release(marker)


def marked(marker: str) -> list[int]:
    """Process ids whose environment carries ``ENV_KEY=marker``."""
    needle = f"\0{ENV_KEY}={marker}\0".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in b"\0" + environ + b"\0":
            found.append(int(entry.name))
    return found


def end_marked(marker: str) -> list[int]:
    """SIGTERM every process carrying ``marker``, SIGKILL those still there after a short grace.

    Zombies (exited, not yet reaped) are skipped. Returns the ids that were signalled.
    """
    pids = [pid for pid in marked(marker) if not _zombie(pid)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [pid for pid in alive if _running(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    return pids


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")
