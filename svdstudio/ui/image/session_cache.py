"""The Image session's factor cache: final factors kept per colour mode while memory allows.

A mixin of :class:`~svdstudio.ui.image.session.ImageSession` (its state is the session's):
the budget of its :class:`~svdstudio.engine.image.FactorCache` (the machine's free memory and
issue 11's memory goal), the room a running SVD's factors reserve before they arrive, and the
keeping of final factors, so that switching the colour mode back shows them again at once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from svdstudio.engine.image import ImageFactors
from svdstudio.engine.image.cache import full_factor_bytes

if TYPE_CHECKING:
    from svdstudio.ui.image.session import ImageSession

    _Base = ImageSession
else:
    _Base = object

__all__ = [
    "CACHE_FLOOR",
    "CACHE_SETS_OF_FACTORS",
    "CACHE_SHARE_OF_MEMORY",
    "FactorCaching",
    "factor_cache_budget",
]

# Factors of other colour modes are kept while they take at most this share of the machine's
# memory and half of what is still free (checked whenever factors are kept) ...
CACHE_SHARE_OF_MEMORY = 0.25
# ... and while they and the factors a running SVD will bring (its quick stage and its final
# factors, both held at the hand-over) take at most this many sets of the image's factors:
# with the image and the set on show, that is what issue 11's memory goal (peak ≤ 3 × (image
# + its factors)) leaves.  At 12 MP the RGB factors kept through a YCbCr SVD took the GUI
# past it.  Below CACHE_FLOOR bytes memory is no concern: small images keep every mode.
CACHE_SETS_OF_FACTORS = 2
CACHE_FLOOR = 256 << 20


def factor_cache_budget() -> int:
    """Bytes the factors kept per colour mode may take now ("while memory allows")."""
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        free = os.sysconf("SC_AVPHYS_PAGES") * page
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows): a modest fixed budget
        return 1 << 30
    return int(max(0, min(total * CACHE_SHARE_OF_MEMORY, free / 2)))


class FactorCaching(_Base):
    """The factor cache's budget, reservations and keeping (see the module docstring)."""

    def _reserve_factor_room(self, mode: str) -> None:
        """Count the factors a starting SVD in ``mode`` will bring against the budget now:
        what they would push out goes before they arrive (the GUI held both, and the RGB
        factors, through a YCbCr SVD)."""
        self._cache.max_bytes = self._cache_budget()
        self._cache.reserve("image", mode, CACHE_SETS_OF_FACTORS * self._set_bytes(mode))

    def _keep_factors(self, factors: ImageFactors) -> None:
        """Keep final factors for their colour mode (if the budget allows)."""
        self._cache.max_bytes = self._cache_budget()
        self._cache.put("image", factors.mode, factors)

    def _set_bytes(self, mode: str) -> int:
        """Bytes of one colour mode's full factors of the image on show."""
        pixels = self.pixels
        if pixels is None:
            return 0
        return full_factor_bytes(pixels.shape[0], pixels.shape[1], 1 if mode == "gray" else 3)

    def _cache_budget(self) -> int:
        """The cache's budget now: memory allows, and the memory goal (see CACHE_SETS_...)."""
        mode = "gray" if self.pixels is not None and self.pixels.ndim == 2 else "rgb"
        goal = max(CACHE_FLOOR, CACHE_SETS_OF_FACTORS * self._set_bytes(mode))
        return min(factor_cache_budget(), goal)
