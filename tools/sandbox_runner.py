"""Runs inside the sandbox (passed to ``python -I -c``); never imported by the agent.

It joins the pids cgroup if one is given, sets resource limits, confines itself (see ``confine``), makes
itself non-dumpable (so the code can neither ptrace it nor write its memory), then forks the worker that
runs ``main.py`` and waits for it like an init process, reaping orphans. It enforces no time limit:
that, and every kill, comes from ``sandbox_supervisor`` outside the namespaces. One JSON line per event
goes to the status pipe: ``{"exception": ...}`` from the worker, ``{"exit": n}`` or ``{"signal": n}``
from us.
"""

import ast
import json
import os
import resource
import sys
import traceback

MB = 1024 * 1024


def apply_limits(config):
    """Set the limits; returns the names of those this platform refused (macOS rejects some)."""
    if config.get("cgroup"):
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as handle:
            handle.write("0")
    cpu = config["cpu_seconds"]
    wanted = [
        ("RLIMIT_CPU", (cpu, cpu + 1)),
        ("RLIMIT_AS", (config["memory_mb"] * MB,) * 2),
        ("RLIMIT_FSIZE", (config["file_mb"] * MB,) * 2),
        ("RLIMIT_CORE", (0, 0)),
    ]
    if config.get("nproc"):
        wanted.append(("RLIMIT_NPROC", (config["nproc"],) * 2))
    refused = []
    for name, value in wanted:
        try:
            resource.setrlimit(getattr(resource, name), value)
        except (AttributeError, ValueError, OSError):
            refused.append(name)
    return refused


_MS = {"RDONLY": 1, "NOSUID": 2, "NODEV": 4, "NOEXEC": 8, "REMOUNT": 32, "BIND": 4096}
_KEPT_FLAGS = ((os.ST_NOSUID, 2), (os.ST_NODEV, 4), (os.ST_NOEXEC, 8), (os.ST_NOATIME, 1024),
               (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))  # fmt: skip


def _mount_points():
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            field = line.split()[4]
            yield field.encode().decode("unicode_escape")  # mountinfo writes spaces as \040


def _read_only_except(libc, workdir):
    """Make every mount read-only except the working folder (bind-mounted onto itself first)."""
    libc.mount(workdir.encode(), workdir.encode(), None, _MS["BIND"], None)
    os.chdir(workdir)  # step onto the bind mount: the old cwd is the folder underneath it
    for runtime in ("/run", "/var/run"):  # service sockets (docker.sock, D-Bus) live here
        if os.path.isdir(runtime) and not os.path.islink(runtime) and not workdir.startswith(runtime + "/"):
            libc.mount(b"none", runtime.encode(), b"tmpfs", _MS["RDONLY"], b"size=4k")
    if os.path.isdir("/dev/shm"):
        libc.mount(b"none", b"/dev/shm", b"tmpfs", _MS["NOSUID"] | _MS["NODEV"], b"size=64m")
    for point in set(_mount_points()) - {workdir, "/dev/shm"}:
        try:
            kept = os.statvfs(point).f_flag
        except OSError:
            continue
        flags = _MS["REMOUNT"] | _MS["BIND"] | _MS["RDONLY"]
        flags |= sum(ms for st, ms in _KEPT_FLAGS if kept & st)
        libc.mount(None, point.encode(), None, flags, None)
    return bool(os.statvfs("/").f_flag & os.ST_RDONLY)


def confine(workdir):
    """Hide the cgroup tree, make the filesystem read-only but for ``workdir``, then drop every
    capability for good (Linux, inside our namespaces). Afterwards the code cannot undo any of it:
    unmount our private /proc, leave its pids cgroup, write outside its folder, or regain
    capabilities by running a program. Returns which of these took effect.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    if os.path.isdir("/sys/fs/cgroup"):
        libc.mount(b"none", b"/sys/fs/cgroup", b"tmpfs", _MS["RDONLY"], b"size=4k")
    read_only = _read_only_except(libc, workdir)
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last_cap = int(handle.read())
    for cap in range(last_cap + 1):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
    libc.prctl(28, 0b11101111, 0, 0, 0)  # PR_SET_SECUREBITS: no root privileges on exec, all locked

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)())  # _LINUX_CAPABILITY_VERSION_3
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":", 1) for line in handle if ":" in line)
    no_caps = all(int(fields.get(key, "0").strip(), 16) == 0 for key in ("CapEff", "CapPrm", "CapBnd"))
    return {"capabilities_dropped": no_caps, "read_only": read_only}


def report(fd, **event):
    try:
        os.write(fd, (json.dumps(event) + "\n").encode())
    except OSError:
        pass


def run_worker(status_fd):
    """Run main.py like a notebook cell: the value of a final expression is printed."""
    code = 0
    try:
        with open("main.py", encoding="utf-8") as handle:
            source = handle.read()
        tree = ast.parse(source, "main.py")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        scope = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(compile(tree, "main.py", "exec"), scope)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "main.py", "eval"), scope)
            if value is not None:
                print(repr(value))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        traceback.print_exception(type(exc), exc, tb)
        summary = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report(status_fd, exception=summary[:2000])
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def main():
    config = json.loads(sys.argv[1])
    status_fd = config["status_fd"]
    refused = apply_limits(config)
    if refused:
        report(status_fd, refused_limits=refused)
    if config.get("confine"):
        report(status_fd, confined=confine(os.getcwd()))
    if sys.platform.startswith("linux"):
        import ctypes

        # PR_SET_DUMPABLE 0: ptrace, process_vm_writev and /proc/1/mem now need CAP_SYS_PTRACE in our
        # user namespace, which the code (capabilities dropped) can never have.
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    worker = os.fork()
    if worker == 0:
        run_worker(status_fd)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return
        if pid == worker:
            break
    if os.WIFSIGNALED(status):
        report(status_fd, signal=os.WTERMSIG(status))
    else:
        report(status_fd, exit=os.WEXITSTATUS(status))


main()
