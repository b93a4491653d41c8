"""JobRunner: intermediate results (job.partial) from threads and worker processes."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.image import decompose_image
from svdstudio.engine.image.factors import PROGRESSIVE_TOP


def _picture(h: int = 420, w: int = 500) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    base = 120 + 70 * np.sin(x / 29.0 + y / 41.0) + 10 * rng.standard_normal((h, w))
    return np.clip(np.stack([base, np.roll(base, 5, 1), 255 - base], -1), 0, 255).astype(np.float32)


@pytest.mark.parametrize("in_process", [False, True])
def test_progressive_stages_arrive_before_the_result(qtbot, runner, in_process):
    parts, results = [], []
    with qtbot.waitSignal(runner.result_ready, timeout=60000):
        job_id = runner.submit(
            "image.svd",
            decompose_image,
            _picture(),
            "rgb",
            in_process=in_process,
            on_partial=parts.append,
            on_result=results.append,
        )
    assert runner.current_id("image.svd") is None  # finished
    assert [p.is_partial for p in parts] == [True, False]
    assert parts[0].max_rank == PROGRESSIVE_TOP and parts[1].max_rank == 420
    assert results[0].max_rank == 420 and not results[0].is_partial
    assert job_id > 0


def test_partial_of_a_superseded_job_is_dropped(qtbot, runner):
    old_parts, new_results = [], []
    runner.submit("image.svd", decompose_image, _picture(), "rgb", on_partial=old_parts.append)
    with qtbot.waitSignal(runner.result_ready, timeout=60000):
        runner.submit(
            "image.svd", decompose_image, _picture(40, 50), "rgb", on_result=new_results.append
        )
    assert new_results[0].max_rank == 40
    assert old_parts == []  # the replaced job's stages never reach its callback
