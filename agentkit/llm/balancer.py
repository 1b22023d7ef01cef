"""Client-side load balancing over replicas of one model: least outstanding requests, sticky per run.

A run (an affinity key, e.g. the run id) stays on the replica it first got, so every step of its
multi-turn conversation hits the prefix cache that holds its earlier turns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager


class EndpointPool:
    """Hands out base URLs of equivalent servers.

    ``async with pool.acquire(run_id) as base_url: ...`` picks, for a new key (or no key), the replica
    with the fewest requests in flight (ties: the one used least so far), and keeps a known key on
    its replica. At most ``max_affinities`` keys are remembered (least recently used are forgotten).
    """

    def __init__(self, urls: Sequence[str], *, max_affinities: int = 10_000):
        if not urls:
            raise ValueError("EndpointPool needs at least one base URL")
        self.urls = [u.rstrip("/") for u in urls]
        if len(set(self.urls)) != len(self.urls):
            raise ValueError(f"EndpointPool got the same base URL twice: {list(urls)}")
        self.outstanding = dict.fromkeys(self.urls, 0)
        self.served = dict.fromkeys(self.urls, 0)
        self._affinity: OrderedDict[str, str] = OrderedDict()
        self._max_affinities = max_affinities

    def pick(self, affinity_key: str | None = None) -> str:
        """The replica for ``affinity_key`` (sticky) or the least loaded one; does not count a request."""
        if affinity_key is not None and affinity_key in self._affinity:
            self._affinity.move_to_end(affinity_key)
            return self._affinity[affinity_key]
        url = min(self.urls, key=lambda u: (self.outstanding[u], self.served[u]))
        if affinity_key is not None:
            self._affinity[affinity_key] = url
            if len(self._affinity) > self._max_affinities:
                self._affinity.popitem(last=False)
        return url

    @asynccontextmanager
    async def acquire(self, affinity_key: str | None = None) -> AsyncIterator[str]:
        """Count one request on the chosen replica while the block runs; yields its base URL."""
        url = self.pick(affinity_key)
        self.outstanding[url] += 1
        self.served[url] += 1
        try:
            yield url
        finally:
            self.outstanding[url] -= 1

    def forget(self, affinity_key: str) -> None:
        """Drop a finished run's affinity."""
        self._affinity.pop(affinity_key, None)
