"""`python -m agentkit --help` wall time as a ratio to `python -c pass`, measured alternately in one run.

python bench/bench_startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    bare, helped = [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine load
        bare.append(wall([sys.executable, "-c", "pass"]))
        helped.append(wall([sys.executable, "-m", "agentkit", "--help"]))
    b, h = statistics.median(bare), statistics.median(helped)
    print(f"python -c pass:             {b * 1000:7.1f} ms (median of {args.repeat})")
    print(f"python -m agentkit --help:  {h * 1000:7.1f} ms")
    print(f"ratio: {h / b:.2f}x")


if __name__ == "__main__":
    main()
