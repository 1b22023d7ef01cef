"""Runs inside the sandbox (passed to ``python -I -c``); never imported by the agent.

It joins the pids cgroup if one is given, sets resource limits, then forks the worker that runs
``main.py`` and waits for it like an init process, reaping orphans. One JSON line per event goes to
the status pipe: ``{"exception": ...}`` from the worker, ``{"exit": n}`` or ``{"signal": n}`` from us.
"""

import ast
import json
import os
import resource
import sys
import traceback

MB = 1024 * 1024


def apply_limits(config):
    if config.get("cgroup"):
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as handle:
            handle.write("0")
    cpu = config["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (config["memory_mb"] * MB,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["file_mb"] * MB,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if config.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (config["nproc"],) * 2)


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
    apply_limits(config)
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
