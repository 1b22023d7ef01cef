"""The live progress line of a batch on stderr: done / total, items/s, tokens/s in and out, errors, ETA."""

from __future__ import annotations

from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from agentkit.batching.stats import BatchStats


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class BatchProgress:
    """Rendered a few times a second from the stats (updating it per item costs nothing)."""

    def __init__(self, stats: BatchStats, console: Console):
        self.stats = stats
        self.todo = stats.total - stats.skipped
        self.live = Live(self, console=console, refresh_per_second=4, transient=False)

    def __rich__(self) -> RenderableType:
        s = self.stats
        done, elapsed = s.done, s.elapsed()
        rate = done / elapsed
        eta = _duration((self.todo - done) / rate) if rate > 0 and done < self.todo else "-"
        line = Table.grid(padding=(0, 1))
        line.add_column(no_wrap=True)
        line.add_column(no_wrap=True)
        line.add_row(
            ProgressBar(total=max(self.todo, 1), completed=done, width=24),
            Text.assemble(
                (f"{done}/{self.todo}", "bold"),
                f"  {rate:.1f} items/s  tokens/s {s.prompt_tokens / elapsed:.0f} in "
                f"{s.completion_tokens / elapsed:.0f} out  ",
                (f"errors {s.errors}", "red" if s.errors else "dim"),
                f"  ETA {eta}",
            ),
        )
        return line

    def __enter__(self) -> BatchProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)
