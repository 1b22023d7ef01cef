"""Stand-in SGLang package for tests: only a version and a launch_server module."""

import os

__version__ = os.environ.get("FAKE_SGLANG_VERSION", "0.5.2")
