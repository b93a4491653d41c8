"""Factors kept per colour mode, so switching the mode back does not decompose again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from svdstudio.engine.image.factors import ImageFactors

__all__ = ["FactorCache", "factor_bytes"]


def factor_bytes(factors: ImageFactors) -> int:
    """Bytes held by the U, σ and Vᵀ arrays of every channel."""
    return sum(ch.U.nbytes + ch.s.nbytes + ch.Vt.nbytes for ch in factors.channels)


class FactorCache:
    """The factors of an image per (image key, colour mode), least recently used out first.

    ``max_bytes`` bounds the total (the caller knows the machine's memory; the engine does
    not look).  Full-resolution factors are never replaced by a preview of the same key and
    mode, and a result larger than the whole budget is simply not kept.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[Hashable, str], ImageFactors] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of all cached factors."""
        return sum(factor_bytes(f) for f in self._items.values())

    def get(self, key: Hashable, mode: str) -> ImageFactors | None:
        """The factors of ``key`` in ``mode`` (marked most recently used), or None."""
        item = self._items.get((key, mode))
        if item is not None:
            self._items.move_to_end((key, mode))
        return item

    def put(self, key: Hashable, mode: str, factors: ImageFactors) -> bool:
        """Keep ``factors``; returns False if they were not kept (too big, or a preview)."""
        old = self._items.get((key, mode))
        if old is not None and old.downsample_factor == 1 and factors.downsample_factor > 1:
            return False
        size = factor_bytes(factors)
        if size > self.max_bytes:
            return False
        self._items[(key, mode)] = factors
        self._items.move_to_end((key, mode))
        while self.nbytes > self.max_bytes:
            self._items.popitem(last=False)
        return True

    def drop(self, key: Hashable | None = None) -> None:
        """Forget one image's factors (every mode), or everything with ``key=None``."""
        if key is None:
            self._items.clear()
            return
        for k in [k for k in self._items if k[0] == key]:
            del self._items[k]
