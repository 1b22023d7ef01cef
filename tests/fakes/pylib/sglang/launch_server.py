"""Stand-in ``python -m sglang.launch_server`` (see tests/fakes/fake_engine.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import fake_engine  # noqa: E402

argv = sys.argv[1:]
sys.exit(fake_engine.serve(argv, model=fake_engine._option(argv, "--model-path", default="?")))
