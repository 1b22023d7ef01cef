"""A stand-in for a vLLM/SGLang server process, driven by FAKE_ENGINE_* environment variables.

FAKE_ENGINE_RECORD   file to append {"argv", "env"} JSON lines to (one per start)
FAKE_ENGINE_MODE     ok (default) | oom | oom_hang | exit | hang | stubborn (ignores SIGTERM while serving)
FAKE_ENGINE_DELAY    seconds of "loading" before serving (default 0.3)
FAKE_ENGINE_SCRIPT   serve this agentkit simulator script instead of the built-in /health + /v1/models
FAKE_ENGINE_PIDFILE  file to append the pids of this process and its worker child to
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENV_KEYS = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")


def _option(argv: list[str], *names: str, default: str | None = None) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return default


def log(text: str) -> None:
    print(f"INFO {time.strftime('%m-%d %H:%M:%S')} {text}", flush=True)


def serve(argv: list[str], *, model: str) -> int:
    """Behave like an engine server started with ``argv`` (everything after the launcher)."""
    record = os.environ.get("FAKE_ENGINE_RECORD")
    if record:
        with open(record, "a") as f:
            f.write(
                json.dumps({"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in ENV_KEYS}}) + "\n"
            )
    mode = os.environ.get("FAKE_ENGINE_MODE", "ok")
    port = int(_option(argv, "--port", default="8000"))
    host = _option(argv, "--host", default="127.0.0.1")
    name = _option(argv, "--served-model-name", default=model)
    max_len = int(_option(argv, "--max-model-len", "--context-length", default="40960"))
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    pidfile = os.environ.get("FAKE_ENGINE_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write(f"{os.getpid()}\n{worker.pid}\n")
    log("Automatically detected platform cuda.")
    log(f"non-default args: {argv}")
    log(f"Loading weights for {model} ...")
    time.sleep(float(os.environ.get("FAKE_ENGINE_DELAY", "0.3")))
    if mode in ("oom", "oom_hang"):
        print("Traceback (most recent call last):", flush=True)
        print('  File "worker.py", line 1, in load_model', flush=True)
        print(
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
            "capacity of 79.19 GiB of which 1.02 GiB is free.",
            flush=True,
        )
        if mode == "oom":
            worker.kill()
            return 1
        time.sleep(3600)
    if mode == "exit":
        print("RuntimeError: Engine core initialization failed. See root cause above.", flush=True)
        worker.kill()
        return 3
    if mode == "hang":
        while True:
            log("Still loading ...")
            time.sleep(0.5)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    script = os.environ.get("FAKE_ENGINE_SCRIPT")
    if script:
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "agentkit.testing.simulator",
                "--script",
                script,
                "--port",
                str(port),
                "--host",
                host,
            ],
        )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/health":
                body = b""
            elif self.path == "/v1/models":
                card = {"id": name, "object": "model", "owned_by": "fake", "max_model_len": max_len}
                body = json.dumps({"object": "list", "data": [card]}).encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        print(
            f"ERROR [Errno {exc.errno}] error while attempting to bind on address ({host!r}, {port}): "
            f"{exc.strerror.lower()}",
            flush=True,
        )
        print(f"OSError: [Errno {exc.errno}] Address already in use", flush=True)
        worker.kill()
        return 1
    log(f"Starting vLLM API server on http://{host}:{port}")
    log("Application startup complete.")
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        worker.kill()
    return 0
