"""Undo a response's ``Content-Encoding`` (gzip, deflate, in any number of layers) with a cap on the
decoded size that holds while decoding: a few kilobytes of gzip bomb stop at the cap, never expanding
further in memory. Each ``feed`` does bounded work, so callers can run it in a thread per chunk.
"""

from __future__ import annotations

import zlib

ACCEPTED = "gzip, deflate"
"""The ``Accept-Encoding`` to send: what ``CappedDecoder`` can undo."""
_KNOWN = {"gzip", "x-gzip", "deflate"}


class UnsupportedEncoding(ValueError):
    """A ``Content-Encoding`` this module does not decode."""


def encodings(header: str) -> list[str]:
    """The layers of a ``Content-Encoding`` header in the order they were applied (identity dropped)."""
    layers = [part.strip().lower() for part in header.split(",") if part.strip()]
    layers = [layer for layer in layers if layer != "identity"]
    for layer in layers:
        if layer not in _KNOWN:
            raise UnsupportedEncoding(layer)
    return layers


class _Layer:
    """One encoding layer; its total output never exceeds ``cap`` bytes."""

    def __init__(self, encoding: str, cap: int):
        self._encoding = encoding
        self._cap = cap
        self.produced = 0
        self.full = False
        self._start()

    def _start(self) -> None:
        gzip = self._encoding in ("gzip", "x-gzip")
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._raw_fallback = not gzip  # "deflate" is often sent raw, without the zlib header

    def decode(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while not self.full:
            room = self._cap - self.produced
            if room <= 0:
                self.full = True
                break
            try:
                chunk = self._inflate.decompress(data, room)
            except zlib.error:
                if not self._raw_fallback or self.produced:
                    raise
                self._inflate, self._raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self.produced += len(chunk)
            out.append(chunk)
            data = self._inflate.unconsumed_tail
            if self._inflate.eof and self._inflate.unused_data:  # the next gzip member
                data = self._inflate.unused_data
                self._start()
                continue
            if not data and not chunk:
                break
        return b"".join(out)


class CappedDecoder:
    """Feed raw body chunks; keeps at most ``limit`` decoded bytes and says when the cap is reached."""

    def __init__(self, layers: list[str], limit: int):
        self._layers = [_Layer(name, limit + 1) for name in reversed(layers)]
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self.cut = False

    @property
    def encoded(self) -> bool:
        return bool(self._layers)

    def feed(self, data: bytes) -> bool:
        """Decode ``data``; True once the decoded body reached the cap (stop reading then).

        ``zlib.error`` for a body that is not validly encoded.
        """
        for layer in self._layers:
            data = layer.decode(data)
        room = self._limit - self._size
        if len(data) > room or any(layer.full for layer in self._layers):
            self.cut = True
        self._chunks.append(data[: max(room, 0)])
        self._size += min(len(data), max(room, 0))
        return self.cut

    def body(self) -> bytes:
        return b"".join(self._chunks)
