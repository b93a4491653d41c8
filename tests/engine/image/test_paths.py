"""decompose_image: the path chosen per image, its progress, cancel, and the factor cache."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine import Cancelled, decompose_topk
from svdstudio.engine.image import (
    FactorCache,
    choose_method,
    decompose_image,
    energy_retained,
    factor_bytes,
    factors,
)


def _picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = 120 + 70 * np.sin(x / 29.0 + y / 41.0) + 10 * rng.standard_normal((h, w))
    rgb = np.stack([base, np.roll(base, 5, axis=1), 255 - base], -1)
    return np.clip(rgb, 0, 255).astype(np.float32)


class _Job:
    def __init__(self, cancel_after: int | None = None):
        self.reports: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.reports) >= self.cancel_after

    def report(self, fraction: float, message: str) -> None:
        self.reports.append((fraction, message))


def test_choose_method_by_size():
    assert choose_method(300, 400) == "small"
    assert choose_method(3000, 4000) == "fast"
    assert choose_method(10000, 10000) == "topk"  # ~100 s of full SVD per channel
    assert choose_method(3000, 4000, max_rank=32) == "topk"
    assert choose_method(3000, 4000, max_rank=2999) == "fast"


@pytest.mark.parametrize(
    ("h", "w", "driver"), [(200, 260, "gesdd-f64"), (420, 500, "propack+gram")]
)
def test_full_factors_rebuild_the_image(h, w, driver):
    px = _picture(h, w)
    f = decompose_image(px, "rgb")
    assert [ch.driver for ch in f.channels] == [driver] * 3
    assert not f.is_partial and f.max_rank == min(h, w)
    for c, ch in enumerate(f.channels):
        full = (ch.U * ch.s) @ ch.Vt
        assert np.abs(full - px[..., c]).max() < 0.05  # within float32 rounding
        assert ch.total_energy == pytest.approx(float(np.sum(px[..., c].astype(float) ** 2)), 1e-6)


def test_progress_names_channel_and_step_and_cancel_stops(monkeypatch):
    px = _picture(420, 500)
    job = _Job()
    decompose_image(px, "ycbcr", job=job)
    messages = [m for _, m in job.reports]
    for name, i in (("Y", 1), ("Cb", 2), ("Cr", 3)):
        assert any(m.startswith(f"channel {name} ({i} of 3): ") for m in messages)
    fractions = [f for f, _ in job.reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # The second channel starts past a third of the bar: progress is real, not per call.
    first_cb = next(f for f, m in job.reports if m.startswith("channel Cb"))
    assert 0.2 < first_cb < 0.5
    for after in (1, 4, 9):
        with pytest.raises(Cancelled):
            decompose_image(px, "rgb", job=_Job(cancel_after=after))


def test_topk_past_the_full_svds_reach_is_honest(monkeypatch):
    """Above the time budget only the top k are computed; energies stay exact (‖A‖_F²)."""
    monkeypatch.setattr(factors, "FULL_SVD_SECONDS", 0.0)
    monkeypatch.setattr(factors, "TOPK_DEFAULT", 40)
    px = _picture(420, 500)
    job = _Job()
    f = decompose_image(px, "rgb", job=job)
    assert f.is_partial and f.max_rank == 40 and f.full_rank == 420
    assert any("top 40 of 420" in m for _, m in job.reports)
    exact = decompose_image(px, "rgb")
    for k in (1, 10, 40):
        assert energy_retained(f, (k,) * 3) == pytest.approx(energy_retained(exact, (k,) * 3), 1e-6)
    np.testing.assert_allclose(f.channels[0].s, exact.channels[0].s[:40], rtol=1e-4)


def test_decompose_topk_checks_arguments_first():
    small = np.arange(12.0).reshape(3, 4)  # small enough for the full-SVD shortcut
    with pytest.raises(ValueError, match="unknown top-k method 'magic'"):
        decompose_topk(small, 2, method="magic")
    with pytest.raises(ValueError, match="whole number"):
        decompose_topk(small, 2.5)
    with pytest.raises(ValueError, match="whole number"):
        decompose_topk(small, True)
    with pytest.raises(ValueError, match="n_iter"):
        decompose_topk(small, 2, method="randomized", n_iter=-1)
    with pytest.raises(ValueError, match="between 1 and 3"):
        decompose_topk(small, 4)


def test_unknown_decomposition_method():
    with pytest.raises(ValueError, match="unknown decomposition method 'lapack'"):
        decompose_image(_picture(20, 30), "rgb", method="lapack")


def test_factor_cache_per_mode_within_budget():
    px = _picture(60, 80)
    rgb, gray, ycc = (decompose_image(px, m) for m in ("rgb", "gray", "ycbcr"))
    size = factor_bytes(rgb)
    assert size == sum(ch.U.nbytes + ch.s.nbytes + ch.Vt.nbytes for ch in rgb.channels)
    cache = FactorCache(max_bytes=2 * size + factor_bytes(gray) // 2)
    assert cache.put("img", "rgb", rgb) and cache.put("img", "gray", gray)
    assert cache.get("img", "rgb") is rgb and cache.get("img", "gray") is gray
    assert cache.get("img", "ycbcr") is None and cache.get("other", "rgb") is None
    # Over budget: the least recently used (gray, since rgb was just read) goes first.
    cache.get("img", "rgb")
    assert cache.put("img", "ycbcr", ycc)
    assert cache.get("img", "gray") is None and cache.get("img", "ycbcr") is ycc
    assert cache.get("img", "rgb") is rgb
    assert cache.nbytes <= cache.max_bytes
    # A preview never replaces full factors; something bigger than the budget is not kept.
    preview = decompose_image(px, "rgb", preview_side=40)
    assert not cache.put("img", "rgb", preview) and cache.get("img", "rgb") is rgb
    assert not FactorCache(max_bytes=10).put("img", "rgb", rgb)
    cache.drop("img")
    assert len(cache) == 0


class _PartialJob(_Job):
    def __init__(self):
        super().__init__()
        self.parts = []

    def partial(self, value):
        self.parts.append(value)


@pytest.mark.parametrize(("h", "w"), [(420, 500), (520, 430)])
def test_progressive_hands_over_top_then_quick_then_refined(h, w):
    px = _picture(h, w)
    job = _PartialJob()
    final = decompose_image(px, "ycbcr", job=job)
    top, quick = job.parts
    p = min(h, w)
    assert top.is_partial and top.max_rank == factors.PROGRESSIVE_TOP
    assert not quick.is_partial and quick.max_rank == p
    assert any(ch.approx_from is not None for ch in quick.channels)
    assert all(ch.approx_from is None for ch in final.channels)
    for t, q, f in zip(top.channels, quick.channels, final.channels, strict=True):
        # The stages agree where they overlap: the top triplets are exact from the start.
        np.testing.assert_allclose(q.s[: factors.PROGRESSIVE_TOP], t.s, rtol=1e-5)
        np.testing.assert_allclose(f.s[: factors.PROGRESSIVE_TOP], t.s, rtol=1e-5)
        V = f.Vt.astype(np.float64)
        assert np.abs(V @ V.T - np.eye(p)).max() < 1e-4
        A = (q.U * q.s) @ q.Vt
        B = (f.U * f.s) @ f.Vt
        assert np.abs(A - B).max() < 0.05  # quick and refined rebuild the same image


@pytest.mark.parametrize(("max_rank", "luma_n"), [(None, 420), (40, 40)])
def test_chroma_max_rank_gives_the_chroma_only_its_top_triplets(max_rank, luma_n):
    """YCbCr with ``chroma_max_rank``: the luma as before, the chroma's top k exact (LAPACK)."""
    from svdstudio.engine.image.color import channel

    px = _picture(420, 500)
    f = decompose_image(px, "ycbcr", max_rank=max_rank, chroma_max_rank=6)
    # 6 needed, 16 spare (PROPACK's top few are more accurate with a wider basis).
    assert [ch.n_components for ch in f.channels] == [luma_n, 22, 22]
    assert f.max_rank == luma_n and f.max_chroma_rank == 22
    for c in (1, 2):
        exact = np.linalg.svd(channel(px, "ycbcr", c).astype(np.float64), compute_uv=False)
        got = f.channels[c]
        assert got.is_partial
        np.testing.assert_allclose(got.s, exact[:22], rtol=1e-5)
        assert got.total_energy == pytest.approx(float(np.sum(exact**2)), rel=1e-6)
    # Energies are exact for what was computed: the chroma's share counts only its top 6.
    kept = energy_retained(f, (8, 6, 6))
    total = sum(ch.total_energy for ch in f.channels)
    ref = sum(
        float(np.sum(ch.s[:k].astype(np.float64) ** 2))
        for ch, k in zip(f.channels, (8, 6, 6), strict=True)
    )
    assert kept == pytest.approx(ref / total, rel=1e-6)
    # Not for other modes, small images, or a chroma rank the luma's path already covers.
    assert [ch.n_components for ch in decompose_image(px, "rgb", chroma_max_rank=6).channels] == [
        420
    ] * 3
    small = decompose_image(_picture(200, 260), "ycbcr", chroma_max_rank=6)
    assert [ch.n_components for ch in small.channels] == [200] * 3
    same = decompose_image(px, "ycbcr", max_rank=20, chroma_max_rank=6)
    assert [ch.n_components for ch in same.channels] == [20] * 3


def test_chroma_max_rank_above_max_rank_is_refused_before_any_work():
    with pytest.raises(ValueError, match="chroma_max_rank"):
        decompose_image(_picture(420, 500), "ycbcr", max_rank=4, chroma_max_rank=8)
