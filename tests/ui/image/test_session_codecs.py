"""The PNG/JPEG job of a big image runs in a worker process, with the thread's figures."""

from __future__ import annotations

import numpy as np
from PIL import Image

from svdstudio.io.images import load_image
from svdstudio.io.shared_arrays import is_shared
from svdstudio.ui.image import session_decompose, session_measure
from svdstudio.ui.image.jobs import codec_job
from svdstudio.ui.image.session import ImageSession

TIMEOUT = 60_000


def _photo(tmp_path, h: int, w: int):
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0)
    rgb = np.clip(np.stack([base, 255 - base, base * 0.5 + x % 90], -1), 0, 255)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return load_image(path)


def _figures(report) -> tuple:
    return report.png_bytes, [(p.quality, p.nbytes) for p in report.jpeg], report.cannot_store


def test_a_worker_process_gives_the_threads_codec_figures(qtbot, runner, tmp_path):
    img = _photo(tmp_path, 600, 700)  # 4.8 MiB of pixels: in shared memory
    assert is_shared(img.pixels)
    with qtbot.waitSignal(runner.result_ready, timeout=TIMEOUT) as blocker:
        runner.submit("p", codec_job, img.pixels, "ycbcr", in_process=True)
    assert _figures(blocker.args[2]) == _figures(codec_job(img.pixels, "ycbcr"))


def test_a_big_images_codecs_run_in_a_worker_process(qtbot, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(session_decompose, "FULL_IN_PROCESS", False)
    monkeypatch.setattr(session_measure, "PREVIEW_ABOVE_PIXELS", 10_000)  # "big" for codecs
    img = _photo(tmp_path, 120, 160)
    jobs: list = []  # the runner's codec jobs (started is emitted before the job is placed)

    def started(channel: str, _job_id: int, _what: str) -> None:
        if channel == "image.codecs":
            jobs.append(runner._current[channel])

    runner.started.connect(started)
    s = ImageSession(runner)
    with qtbot.waitSignal(s.codecs_ready, timeout=TIMEOUT):
        s.set_image(img, "photo.png")
    assert [j.process is not None for j in jobs] == [True]
    assert _figures(s.codecs) == _figures(codec_job(img.pixels, "rgb"))
    monkeypatch.setattr(session_measure, "CODECS_IN_PROCESS", False)
    jobs.clear()
    with qtbot.waitSignal(s.codecs_ready, timeout=TIMEOUT):
        s.set_mode("ycbcr")
    assert [j.process is not None for j in jobs] == [False]  # the switch
    assert _figures(s.codecs) == _figures(codec_job(img.pixels, "ycbcr"))
