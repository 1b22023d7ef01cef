"""Batch runs: one task over many items (JSON Lines, CSV, Parquet), resumable, in one process or on Ray.

``python -m agentkit batch task.yaml items.jsonl -o results.jsonl`` or ``agentkit.batch(task, items)``.
"""

from agentkit.batching.driver import Batch, batch
from agentkit.batching.items import BatchInputError, Item
from agentkit.batching.stats import BatchStats

__all__ = ["Batch", "BatchInputError", "BatchStats", "Item", "batch"]
