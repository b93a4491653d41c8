"""svdstudio.desktop: application identity, icon and the packaged-app smoke test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication

from svdstudio import __version__
from svdstudio.desktop import (
    APP_ID,
    SMOKE_TEST_ENV,
    SMOKE_TEST_MESSAGE,
    app_icon,
    configure_application,
    smoke_test_requested,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_identity(qapp):
    saved = (
        qapp.organizationName(),
        qapp.organizationDomain(),
        qapp.applicationName(),
        qapp.applicationVersion(),
        QGuiApplication.desktopFileName(),
        qapp.windowIcon(),
    )
    yield qapp
    qapp.setOrganizationName(saved[0])
    qapp.setOrganizationDomain(saved[1])
    qapp.setApplicationName(saved[2])
    qapp.setApplicationVersion(saved[3])
    QGuiApplication.setDesktopFileName(saved[4])
    qapp.setWindowIcon(saved[5])


def test_configure_application_sets_identity(restore_identity):
    app = restore_identity
    configure_application(app)
    assert app.applicationName() == "SVD Studio"
    assert app.organizationName() == "SVDStudio"
    assert app.organizationDomain() == "svdstudio.github.io"
    assert app.applicationVersion() == __version__
    assert QGuiApplication.desktopFileName() == APP_ID
    assert (ROOT / "packaging" / "linux" / f"{APP_ID}.desktop").is_file()
    assert not app.windowIcon().isNull()


def test_app_icon_has_every_size():
    icon = app_icon()
    assert not icon.isNull()
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert sizes == {(n, n) for n in (16, 24, 32, 48, 64, 128, 256, 512)}
    assert icon.pixmap(QSize(48, 48)).size() == QSize(48, 48)


def test_smoke_test_requested(monkeypatch):
    monkeypatch.delenv(SMOKE_TEST_ENV, raising=False)
    assert smoke_test_requested(["--smoke-test"])
    assert not smoke_test_requested(["image.png"])
    monkeypatch.setenv(SMOKE_TEST_ENV, "1")
    assert smoke_test_requested([])
    monkeypatch.setenv(SMOKE_TEST_ENV, "0")
    assert not smoke_test_requested([])


# A stand-in main window; FakeRunner follows the JobRunner contract for in_process jobs.
_SCRIPT = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow
    from svdstudio.desktop import configure_application, run_smoke_test

    class FakeRunner:
        def __init__(self):
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        def submit(self, channel, fn, *args, description="", in_process=False,
                   on_result=None, on_error=None, **kwargs):
            future = self.pool.submit(fn, *args, **kwargs)
            timer = QTimer(app)
            def check():
                if future.done():
                    timer.stop()
                    on_result(future.result())
            timer.timeout.connect(check)
            timer.start(20)
            return 1

    if __name__ == "__main__":
        app = QApplication(sys.argv[:1])
        configure_application(app)
        window = QMainWindow()
        mode = sys.argv[1]
        if mode == "runner":
            window.runner = FakeRunner()
        if mode in ("plain", "runner"):
            window.show()
        if mode == "not-ready":
            window.show()
            # Start the smoke test's 0.5 s clock only once the window is exposed, so that a
            # busy machine cannot turn "shown: True" into "shown: False" (a value, not a race).
            def start_when_exposed():
                handle = window.windowHandle()
                if handle is not None and handle.isExposed():
                    run_smoke_test(window, ready=lambda: False, timeout_s=0.5)
                else:
                    QTimer.singleShot(20, start_when_exposed)
            QTimer.singleShot(0, start_when_exposed)
        else:
            timeout = 0.5 if mode == "hidden" else 60
            run_smoke_test(window, ready=window.isVisible, timeout_s=timeout)
        code = app.exec()
        if mode == "runner":
            window.runner.pool.shutdown()
        sys.exit(code)
    """
)


def _run_stand_in(tmp_path, mode):
    script = tmp_path / "stand_in.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(script), mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_smoke_test_prints_and_exits_zero(tmp_path):
    proc = _run_stand_in(tmp_path, "plain")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == [SMOKE_TEST_MESSAGE]


def test_smoke_test_runs_a_worker_process_job(tmp_path):
    proc = _run_stand_in(tmp_path, "runner")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == [
        "SVD Studio smoke test: worker process OK",
        SMOKE_TEST_MESSAGE,
    ]


def test_smoke_test_fails_when_the_window_never_shows(tmp_path):
    proc = _run_stand_in(tmp_path, "hidden")
    assert proc.returncode == 1
    assert SMOKE_TEST_MESSAGE not in proc.stdout
    assert "FAILED after 0.5 s (window shown: False, ready: False" in proc.stderr


def test_smoke_test_waits_for_ready(tmp_path):
    proc = _run_stand_in(tmp_path, "not-ready")
    assert proc.returncode == 1
    assert "FAILED after 0.5 s (window shown: True, ready: False, worker: skipped)" in proc.stderr
