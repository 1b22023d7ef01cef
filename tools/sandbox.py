"""Run Python source in a separate, limited process, and always clean up after it.

Layers, each used where the platform allows it (the result's ``notes`` say what was missing):

- Linux namespaces via ``unshare``: a user namespace (no real capabilities), a pid namespace (the code
  cannot see or signal the agent; when its first process ends, the kernel kills every process in
  it), a private ``/proc``, an IPC namespace, and an empty network namespace unless network is
  allowed. Inside them the runner makes the filesystem read-only but for the work folder, drops every
  capability (``sandbox_runner.confine``) and makes itself non-dumpable (no ptrace from the code).
- ``sandbox_supervisor``, outside the namespaces, owns the time limit and every kill, and removes the
  work folder; it also does so when the agent dies (it watches a pipe only the agent holds).
- A pids cgroup capping the process count where we may create one (root on cgroup v1, or v2 with
  the pids controller delegated), else ``RLIMIT_NPROC`` (not enforced for root).
- rlimits on CPU seconds, address space, file size and core dumps; output read through pipes and capped.
- ``python -I`` in a fresh temporary folder with a minimal environment (no API keys, no user site).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream

from agentkit_tools.sandbox_supervisor import remove_tree

RUNNER_SOURCE = (Path(__file__).with_name("sandbox_runner.py")).read_text(encoding="utf-8")
_SUPERVISOR = str(Path(__file__).with_name("sandbox_supervisor.py"))
_NAMESPACES = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--ipc"]
_PRIVATE_PROC = ["--mount", "--mount-proc"]
_FILE_MB = 64
_ORPHAN_GRACE = 2
"""Seconds past the time limit after which the supervisor ends the run on its own (the agent is stuck)."""
_STALE_CGROUP_S = 60
_DRAIN_GRACE = 1.0
"""Seconds to finish reading output after the code ended (a detached child may hold the pipe)."""


@dataclass(frozen=True, slots=True)
class Limits:
    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 512
    max_processes: int = 32
    max_output_bytes: int = 20_000
    network: bool = False


@dataclass(slots=True)
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None = None
    signal: int | None = None
    exception: str | None = None
    timed_out: bool = False
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    """What this platform could not enforce, said plainly."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True, slots=True)
class Isolation:
    """The command prefix that isolates the child, and what it leaves unenforced."""

    prefix: tuple[str, ...]
    notes: tuple[str, ...]


def _works(prefix: list[str]) -> bool:
    try:
        done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@cache
def isolation(network: bool) -> Isolation:
    """Probe (once per process) the strongest namespace set that works here."""
    unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
    if unshare:
        net = [] if network else ["--net"]
        for extra, notes in (
            (_PRIVATE_PROC, ()),
            ([], ("/proc was not made private: the code can see (not signal) other processes",)),
        ):
            prefix = [unshare, *_NAMESPACES, *extra, *net]
            if _works(prefix):
                return Isolation(tuple(prefix), notes)
    notes = [
        "no Linux namespaces here: the code runs as your user and can see your other processes, "
        "including the environment variables (API keys) they were started with"
    ]
    if not network:
        notes.append("network is NOT blocked on this platform")
    return Isolation((), tuple(notes))


def _pids_cgroup(max_processes: int) -> Path | None:
    """A fresh cgroup with ``pids.max`` set, or None where we may not create one."""
    candidates: list[Path] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidates.append(Path("/sys/fs/cgroup/pids") / path.lstrip("/"))
        elif controllers == "":  # cgroup v2: our own cgroup, else the root one (root only)
            for base in (Path("/sys/fs/cgroup") / path.lstrip("/"), Path("/sys/fs/cgroup")):
                try:
                    if "pids" in (base / "cgroup.subtree_control").read_text().split():
                        candidates.append(base)
                except OSError:
                    pass
    for base in candidates:
        _sweep_stale_cgroups(base)
        group = base / f"agentkit-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(max_processes))
            return group
        except OSError:
            _remove_cgroup(group)
    return None


def _sweep_stale_cgroups(base: Path) -> None:
    """Remove empty cgroups left by agents that were killed before they could clean up.

    Only ones older than a minute: a fresh one may be waiting for its runner to join it. The
    kernel refuses to remove a cgroup that still holds processes.
    """
    try:
        stale = [p for p in base.glob("agentkit-*") if time.time() - p.stat().st_mtime > _STALE_CGROUP_S]
    except OSError:
        return
    for group in stale:
        try:
            if not (group / "cgroup.procs").read_text().strip():
                group.rmdir()
        except OSError:
            pass


def _remove_cgroup(group: Path) -> None:
    for _ in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def _process_limit(limits: Limits, iso: Isolation, group: Path | None) -> tuple[int | None, list[str]]:
    """The RLIMIT_NPROC to set (if any) and a note when the process count is not capped."""
    if group is not None:
        return None, []
    if os.geteuid() != 0:
        # Inside a user namespace the count starts from zero; outside it counts all our processes.
        return limits.max_processes + (0 if iso.prefix else _own_process_count()), []
    return None, ["the process count is not capped (running as root without a writable pids cgroup)"]


def _environment(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
    }


async def _drain(stream: ByteReceiveStream | None, cap: int, sink: list[bytes]) -> int:
    """Keep the first ``cap`` bytes of ``stream``; return how many more were dropped."""
    kept = dropped = 0
    if stream is None:
        return 0
    async for chunk in stream:
        room = cap - kept
        if room > 0:
            sink.append(chunk[:room])
            kept += min(room, len(chunk))
        dropped += max(0, len(chunk) - max(room, 0))
    return dropped


def _read_status(fd: int) -> list[dict]:
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    events = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


async def run_python(code: str, limits: Limits) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a fresh folder under ``limits``; nothing is left running after.

    ``UnicodeEncodeError`` (before anything is created) for code that is not valid Unicode, such as a
    lone surrogate.
    """
    source = code.encode("utf-8")
    iso = await anyio.to_thread.run_sync(isolation, limits.network)
    workdir = tempfile.mkdtemp(prefix="agentkit-python-")
    group: Path | None = None
    process = None
    fds: dict[str, int] = {}
    try:
        Path(workdir, "main.py").write_bytes(source)
        group = _pids_cgroup(limits.max_processes) if sys.platform.startswith("linux") else None
        nproc, notes = _process_limit(limits, iso, group)
        fds["status_read"], fds["status_write"] = os.pipe()
        fds["alive_read"], fds["alive_write"] = os.pipe()
        runner = {
            "status_fd": fds["status_write"],
            "cgroup": str(group) if group else None,
            "cpu_seconds": max(1, int(limits.cpu_seconds)),
            "memory_mb": limits.memory_mb,
            "file_mb": _FILE_MB,
            "nproc": nproc,
            "confine": bool(iso.prefix),
        }
        command = [*iso.prefix, sys.executable, "-I", "-X", "utf8", "-c", RUNNER_SOURCE, json.dumps(runner)]
        supervisor = {
            "command": command,
            "namespaced": bool(iso.prefix),
            "status_fd": fds["status_write"],
            "alive_fd": fds["alive_read"],
            "deadline": limits.wall_seconds + _ORPHAN_GRACE,
            "cgroup": runner["cgroup"],
            "workdir": workdir,
        }
        out: list[bytes] = []
        err: list[bytes] = []
        dropped = {"out": 0, "err": 0}
        started = time.monotonic()
        process = await anyio.open_process(
            [sys.executable, "-I", "-X", "utf8", _SUPERVISOR, json.dumps(supervisor)],
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=_environment(workdir),
            start_new_session=True,
            pass_fds=(fds["status_write"], fds["alive_read"]),
        )
        for name in ("status_write", "alive_read"):
            os.close(fds.pop(name))
        timed_out = await _collect(process, limits, out, err, dropped)
    finally:
        with anyio.CancelScope(shield=True):
            if "alive_write" in fds:  # tells the supervisor to end the run, if it has not yet
                os.close(fds.pop("alive_write"))
            if process is not None:
                await process.wait()
                await process.aclose()
            events = _read_status(fds["status_read"]) if "status_read" in fds else []
            for fd in fds.values():
                os.close(fd)
            if process is None:  # no supervisor ever ran: clean up here
                if group is not None:
                    await anyio.to_thread.run_sync(_remove_cgroup, group)
                await anyio.to_thread.run_sync(remove_tree, workdir)
    result = SandboxResult(
        stdout=b"".join(out).decode("utf-8", errors="replace"),
        stderr=b"".join(err).decode("utf-8", errors="replace"),
        timed_out=timed_out,
        stdout_dropped=dropped["out"],
        stderr_dropped=dropped["err"],
        seconds=time.monotonic() - started,
        notes=[*iso.notes, *notes],
    )
    _apply_events(result, events)
    return result


async def _collect(
    process: Any, limits: Limits, out: list[bytes], err: list[bytes], dropped: dict[str, int]
) -> bool:
    """Read the output until the supervisor has ended the run; True if the time limit ended it."""
    drained = anyio.Event()
    pending = {"out", "err"}

    async def drain(name: str, stream: ByteReceiveStream | None, sink: list[bytes]) -> None:
        dropped[name] = await _drain(stream, limits.max_output_bytes, sink)
        pending.discard(name)
        if not pending:
            drained.set()

    with anyio.move_on_after(limits.wall_seconds) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, "out", process.stdout, out)
            tg.start_soon(drain, "err", process.stderr, err)
            await process.wait()  # the supervisor has killed what was left and removed the folder
            with anyio.move_on_after(_DRAIN_GRACE):
                await drained.wait()
            tg.cancel_scope.cancel()
    return scope.cancelled_caught


def _apply_events(result: SandboxResult, events: list[dict]) -> None:
    """Fill in how the run ended, and what could not be enforced, from the runner's status events."""
    refused = [name for event in events for name in event.get("refused_limits", [])]
    if refused:
        result.notes.append(f"this platform refused these limits: {', '.join(refused)}")
    confined = next((event["confined"] for event in events if "confined" in event), None)
    if confined is not None and not confined["read_only"]:
        result.notes.append("the filesystem could not be made read-only: the code can write where you can")
    if confined is not None and not confined["capabilities_dropped"]:
        result.notes.append("capabilities could not be dropped inside the sandbox")
    returncode = None
    for event in events:
        result.exception = event.get("exception", result.exception)
        result.exit_code = event.get("exit", result.exit_code)
        result.signal = event.get("signal", result.signal)
        returncode = event.get("runner_returncode", returncode)
        if "cleanup_error" in event:
            result.notes.append(f"the work folder could not be removed completely: {event['cleanup_error']}")
        if "supervisor_error" in event:
            result.exception = event["supervisor_error"]
    if result.exit_code is None and result.signal is None and not result.timed_out and returncode is not None:
        # The runner itself died (killed from inside, or it could not start).
        result.signal, result.exit_code = (-returncode, None) if returncode < 0 else (None, returncode)
