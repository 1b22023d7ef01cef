"""Start engine processes in their own process group, wait for /health, stop them without orphans.

Every started server is registered until stopped; an ``atexit`` hook and SIGTERM/SIGHUP handlers
(installed once, only where the default handler was in place) stop what is left. On Linux the engine
also gets SIGTERM if this process dies outright (``PR_SET_PDEATHSIG``), unless it is kept.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agentkit.serving.diagnose import first_fatal_line
from agentkit.serving.errors import ServingError

StatusCallback = Callable[[str], None]
_LIVE: dict[int, ServerProcess] = {}
_hooks_installed = False


class StartFailed(ServingError):
    """A server did not become ready: ``reason`` is exited, fatal (a fatal log line) or timeout."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _pdeathsig() -> None:  # runs in the child between fork and exec
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return [pgid]
        except ProcessLookupError:
            return []
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


class ServerProcess:
    """One engine server: its process group, log file and URL."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, url: str, *, keep: bool = False):
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.url = url.rstrip("/")
        """The server root (http://host:port), without /v1."""
        self.keep = keep
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.last_line = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        """Start the engine in a new session (its own process group), output appended to the log file.

        Call it from a long-lived thread (the event loop's): Linux delivers the parent-death signal when
        the *thread* that started the child ends.
        """
        _install_hooks()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                    preexec_fn=_pdeathsig if sys.platform == "linux" and not self.keep else None,
                )
            except OSError as exc:
                raise ServingError(f"cannot start {self.argv[0]}: {exc}") from exc
        _LIVE[self.proc.pid] = self

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def new_log_lines(self) -> list[str]:
        """Log lines written since the last call (the last non-empty one is kept in ``last_line``)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        if self.returncode() is not None:
            end = len(data)
        self._log_offset += end
        lines = data[:end].decode("utf-8", "replace").replace("\r", "\n").splitlines()
        for line in reversed(lines):
            if line.strip():
                self.last_line = line.strip()
                break
        return lines

    def log_text(self, limit: int = 200_000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def release(self) -> None:
        """Leave the server running after this process exits (``--keep``)."""
        if self.proc:
            _LIVE.pop(self.proc.pid, None)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the whole process group, SIGKILL what is left after ``grace`` seconds; reap the leader."""
        if not self.proc:
            return
        _LIVE.pop(self.proc.pid, None)
        if not self._signal_group(signal.SIGTERM, grace):
            self._signal_group(signal.SIGKILL, 5.0)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _signal_group(self, sig: signal.Signals, wait: float) -> bool:
        """Send ``sig`` to the process group; True once none of it is left (within ``wait`` seconds)."""
        assert self.proc is not None
        pgid = self.proc.pid
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while True:
            self.proc.poll()
            if not group_members(pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def stop_all(grace: float = 10.0) -> None:
    """Stop every server this process started and still owns (in parallel)."""
    servers = list(_LIVE.values())
    threads = [threading.Thread(target=s.stop, args=(grace,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(grace + 15)


def _on_signal(signum: int, frame: object) -> None:
    stop_all(grace=5.0)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _on_signal)


async def wait_ready(
    server: ServerProcess,
    *,
    timeout: float,
    on_status: StatusCallback | None = None,
    api_key: str | None = None,
    poll: float = 0.25,
    status_every: float = 5.0,
) -> None:
    """Wait until ``server`` answers 200 on /health, reporting progress every ``status_every`` seconds.

    Returns as soon as it is ready; raises :class:`StartFailed` (not diagnosed: the caller reads the log)
    the moment the process exits, prints a fatal line, or ``timeout`` passes.
    """
    import anyio
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    start = time.monotonic()
    reported = -status_every
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0), headers=headers) as client:
        while True:
            lines = server.new_log_lines()
            if server.returncode() is not None:
                raise StartFailed("exited", f"status {server.returncode()}")
            fatal = first_fatal_line(lines)
            if fatal:
                raise StartFailed("fatal", fatal.strip())
            try:
                response = await client.get(server.url + "/health")
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            elapsed = time.monotonic() - start
            if elapsed > timeout:
                raise StartFailed("timeout", f"not ready after {timeout:.0f} s")
            if on_status and elapsed - reported >= status_every:
                reported = elapsed
                on_status(f"{elapsed:4.0f}s  {server.last_line[:120]}")
            await anyio.sleep(poll)
