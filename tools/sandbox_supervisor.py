"""The sandbox's killer: one per call, outside the sandbox's namespaces (``python -I`` this file).

Nothing in the sandbox can reach it: it lives in the agent's pid namespace, which the code cannot see,
so it can neither be signalled nor traced from inside. It starts the namespaced command (``unshare …
runner``), then ends the run when the first of these happens: the command exits, the time limit (plus
a grace) passes, or the agent closes its end of the ``alive`` pipe — which the kernel also does when
the agent dies, even by SIGKILL. Ending means SIGKILL to the pid namespace's first process (the kernel
then kills every process in the namespace), to the command's process group and to the pids cgroup;
then the work folder is removed and the command's exit status is written to the status pipe.

``remove_tree`` is also imported by the agent (``agentkit_tools.sandbox``) for the case that this never ran.
"""

import errno
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def remove_tree(path):
    """Delete ``path`` and everything under it without recursion and without following symlinks.

    Never raises; returns the first error met (or None). Any depth works: only one folder is open at a
    time and the way back up is ``..``, so neither the stack nor path length limits it.
    """
    first_error = None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc
    if not stat.S_ISDIR(info.st_mode):
        try:
            os.unlink(path)
        except OSError as exc:
            return exc
        return None
    names = []  # the folders we descended into, below ``path``
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        return exc
    try:
        while True:
            child = _next_subfolder(fd)
            if child is not None:
                try:
                    inner = os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except PermissionError:
                    os.chmod(child, 0o700, dir_fd=fd)  # a folder the code made unreadable
                    inner = os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = inner
                names.append(child)
                continue
            if not names:
                break
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    except OSError as exc:
        first_error = first_error or exc
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError as exc:
        first_error = first_error or exc
    return first_error


def _next_subfolder(fd):
    """Unlink every non-folder in ``fd``; return the name of one subfolder left, or None."""
    try:
        os.fchmod(fd, 0o700)  # so that entries can be removed even where the code took write access away
    except OSError:
        pass
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            try:
                os.unlink(entry.name, dir_fd=fd)
            except FileNotFoundError:
                pass
    return None


def _children(pid):
    """Ids of the processes whose parent is ``pid`` (read from /proc)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(name))
    return found


def _kill(pid, group=False):
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_cgroup(group):
    """SIGKILL every process in the pids cgroup until it is empty, then remove it."""
    if not group:
        return
    try:
        with open(os.path.join(group, "cgroup.kill"), "w") as handle:
            handle.write("1")
    except OSError:
        pass
    for _ in range(200):
        try:
            with open(os.path.join(group, "cgroup.procs")) as handle:
                pids = [int(p) for p in handle.read().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            _kill(pid)
        time.sleep(0.005)
    for _ in range(100):
        try:
            os.rmdir(group)
            return
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return
            time.sleep(0.01)


def _pdeathsig_self(sig):
    """Get ``sig`` when the agent (our parent) ends, as a second signal besides the pipe."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _child_setup():
    """In the command's process, before exec: die with us (a SIGKILLed supervisor still ends the run)."""
    _pdeathsig_self(signal.SIGKILL)


def supervise(config):
    parent = os.getppid()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGTERM, lambda *_: None)  # handled through the wakeup pipe
    _pdeathsig_self(signal.SIGTERM)
    alive = config["alive_fd"]
    status = config["status_fd"]
    deadline = time.monotonic() + config["deadline"]
    linux = sys.platform.startswith("linux")
    try:
        child = subprocess.Popen(
            config["command"],
            stdin=subprocess.DEVNULL,
            pass_fds=(status,),
            start_new_session=True,
            preexec_fn=_child_setup if linux else None,
        )
    except OSError as exc:
        _report(status, supervisor_error=f"could not start the sandbox: {exc}")
        _finish(None, None, config)
        return
    first = None  # the pid namespace's first process (the runner), seen from here
    try:
        exited = [os.pidfd_open(child.pid)]  # readable once the command exits: no polling delay
    except (AttributeError, OSError):
        exited = []
    done = os.getppid() != parent  # the agent died before we could ask for its death signal
    while not done:
        if first is None and config["namespaced"]:
            found = _children(child.pid)
            first = found[0] if found else None
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            _report(status, supervisor="time limit passed: killed")
            break
        wait = min(timeout, 0.01 if first is None and config["namespaced"] else 0.2 if not exited else 60)
        try:
            readable, _, _ = select.select([alive, wake_read, *exited], [], [], wait)
        except InterruptedError:
            readable = []
        if alive in readable or wake_read in readable:
            break  # the agent asked us to stop, or it is gone
        done = child.poll() is not None
    _finish(child, first, config)


def _finish(child, first, config):
    if child is not None:
        if first is None and config["namespaced"] and child.poll() is None:
            found = _children(child.pid)
            first = found[0] if found else None
        if first is not None:
            _kill(first)  # pid 1 of the namespace: the kernel kills the rest
        _kill(child.pid, group=True)
        _kill_cgroup(config.get("cgroup"))
        returncode = child.wait()
        _report(config["status_fd"], runner_returncode=returncode)
    else:
        _kill_cgroup(config.get("cgroup"))
    error = remove_tree(config["workdir"])
    if error is not None:
        _report(config["status_fd"], cleanup_error=f"{type(error).__name__}: {error}")


def _report(fd, **event):
    try:
        os.write(fd, (json.dumps(event) + "\n").encode())
    except OSError:
        pass


if __name__ == "__main__":
    supervise(json.loads(sys.argv[1]))
