"""A stdio "server" that never answers the MCP handshake.

Flags: ``--junk`` writes non-JSON lines on stdout; ``--child`` starts a long-lived child process first.
"""

import subprocess
import sys
import time

if "--child" in sys.argv:
    subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
print("hang_server: starting, will never answer", file=sys.stderr, flush=True)
if "--junk" in sys.argv:
    print("Welcome to hang_server v1.0! Listening...", flush=True)
while True:
    time.sleep(3600)
