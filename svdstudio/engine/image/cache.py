"""Factors kept per colour mode, so switching the mode back does not decompose again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from svdstudio.engine.image.factors import ImageFactors

__all__ = ["FactorCache", "factor_bytes", "full_factor_bytes"]


def factor_bytes(factors: ImageFactors) -> int:
    """Bytes held by the U, σ and Vᵀ arrays of every channel."""
    return sum(ch.U.nbytes + ch.s.nbytes + ch.Vt.nbytes for ch in factors.channels)


def full_factor_bytes(height: int, width: int, channels: int) -> int:
    """Bytes of the full thin float32 factors (U, σ, Vᵀ) of ``channels`` H×W channels."""
    p = min(int(height), int(width))
    return int(channels) * 4 * (int(height) * p + p + p * int(width))


class FactorCache:
    """The factors of an image per (image key, colour mode), least recently used out first.

    ``max_bytes`` bounds the total (the caller knows the machine's memory; the engine does
    not look).  Full-resolution factors are never replaced by a preview of the same key and
    mode, and a result larger than the whole budget is simply not kept.  A running SVD's
    factors can be *reserved* (:meth:`reserve`): their bytes count against the budget from
    then on, so what they would push out goes before they arrive, not after.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[Hashable, str], ImageFactors] = OrderedDict()
        self._reserved: dict[tuple[Hashable, str], int] = {}

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of all cached factors."""
        return sum(factor_bytes(f) for f in self._items.values())

    @property
    def reserved(self) -> int:
        """Bytes reserved for factors still being computed."""
        return sum(self._reserved.values())

    def get(self, key: Hashable, mode: str) -> ImageFactors | None:
        """The factors of ``key`` in ``mode`` (marked most recently used), or None."""
        item = self._items.get((key, mode))
        if item is not None:
            self._items.move_to_end((key, mode))
        return item

    def reserve(self, key: Hashable, mode: str, nbytes: int) -> None:
        """Count ``nbytes`` for the factors of ``key`` in ``mode`` being computed now, and
        evict the least recently used factors of other modes until everything fits."""
        self._reserved[(key, mode)] = max(0, int(nbytes))
        self._evict(keep=(key, mode))

    def release(self, key: Hashable | None = None, mode: str | None = None) -> None:
        """End a reservation (the SVD was cancelled or failed); no arguments: every one."""
        if key is None:
            self._reserved.clear()
        else:
            self._reserved.pop((key, mode or ""), None)

    def put(self, key: Hashable, mode: str, factors: ImageFactors) -> bool:
        """Keep ``factors`` (ending their reservation); False if they were not kept (too big,
        or a preview over full factors)."""
        self._reserved.pop((key, mode), None)
        old = self._items.get((key, mode))
        if old is not None and old.downsample_factor == 1 and factors.downsample_factor > 1:
            return False
        size = factor_bytes(factors)
        if size > self.max_bytes:
            return False
        self._items[(key, mode)] = factors
        self._items.move_to_end((key, mode))
        self._evict(keep=(key, mode))
        return True

    def _evict(self, keep: tuple[Hashable, str]) -> None:
        """Least recently used out (never ``keep``) until cached + reserved fit the budget."""
        for item in list(self._items):
            if self.nbytes + self.reserved <= self.max_bytes:
                return
            if item != keep:
                del self._items[item]

    def drop(self, key: Hashable | None = None) -> None:
        """Forget one image's factors and reservations (every mode), or everything."""
        if key is None:
            self._items.clear()
            self._reserved.clear()
            return
        for k in [k for k in self._items if k[0] == key]:
            del self._items[k]
        for k in [k for k in self._reserved if k[0] == key]:
            del self._reserved[k]
