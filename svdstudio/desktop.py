"""SVD Studio as a desktop citizen: names, icon, desktop-file id, file routing, smoke test.

Called by ``svdstudio.app.main``::

    app = QApplication(sys.argv)
    configure_application(app)          # names, version, desktop file id, window icon
    window = MainWindow(); window.show()
    if smoke_test_requested(argv):
        run_smoke_test(window)          # prints SMOKE_TEST_MESSAGE and exits 0, or exits 1
    return app.exec()

Qt 6 already uses the PassThrough high-DPI rounding policy (fractional scale factors such as 1.25
stay exact), so nothing is set here; setting it after the QApplication exists would be ignored.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QWidget

from svdstudio import __version__
from svdstudio.io.filetypes import classify_path
from svdstudio.resources import resource_path

__all__ = [
    "APP_ID",
    "APP_NAME",
    "ICON_SIZES",
    "ORGANIZATION_DOMAIN",
    "ORGANIZATION_NAME",
    "SMOKE_TEST_ENV",
    "SMOKE_TEST_FLAG",
    "SMOKE_TEST_LOG_ENV",
    "SMOKE_TEST_MESSAGE",
    "app_icon",
    "classify_path",
    "configure_application",
    "run_smoke_test",
    "smoke_test_requested",
]

APP_ID = "io.github.svdstudio.SVDStudio"  # = packaging/linux/<APP_ID>.desktop and the icon name
APP_NAME = "SVD Studio"
ORGANIZATION_NAME = "SVDStudio"  # = app.ORGANIZATION: QSettings("SVDStudio", "SVD Studio")
ORGANIZATION_DOMAIN = "svdstudio.github.io"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

SMOKE_TEST_FLAG = "--smoke-test"
SMOKE_TEST_ENV = "SVDSTUDIO_SMOKE_TEST"
SMOKE_TEST_LOG_ENV = "SVDSTUDIO_SMOKE_TEST_LOG"  # also write the messages here (no stdout on
# a windowed Windows executable)
SMOKE_TEST_MESSAGE = "SVD Studio smoke test: main window shown"
SMOKE_WORKER_MESSAGE = "SVD Studio smoke test: worker process OK"


def app_icon() -> QIcon:
    """The application icon with every PNG size (16–512 px) from resources/icons."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = resource_path("icons", f"svdstudio-{size}.png")
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    return icon


def configure_application(app: QApplication) -> None:
    """Set names, version, desktop file id and window icon; call right after creating ``app``.

    The organisation and application names decide where QSettings stores its file
    (e.g. ``~/.config/SVDStudio/SVD Studio.conf``); the desktop file name lets Wayland and X11
    match windows to the launcher installed by packaging/linux/install-desktop.sh.
    """
    app.setOrganizationName(ORGANIZATION_NAME)
    app.setOrganizationDomain(ORGANIZATION_DOMAIN)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())


def smoke_test_requested(argv: Sequence[str] | None = None) -> bool:
    """True if ``--smoke-test`` is in ``argv`` (default ``sys.argv``) or SVDSTUDIO_SMOKE_TEST=1."""
    args = sys.argv[1:] if argv is None else argv
    return SMOKE_TEST_FLAG in args or os.environ.get(SMOKE_TEST_ENV, "") not in ("", "0")


def run_smoke_test(
    window: QWidget, *, ready: Callable[[], bool] | None = None, timeout_s: float = 60.0
) -> None:
    """Once ``window`` is on screen (and a worker job succeeded), print and quit the event loop.

    ``ready`` is an optional extra condition, e.g. ``lambda: window.tabs.count() == 3``.
    If the window has a ``runner`` (the JobRunner), a tiny SVD runs in a worker process first
    (``in_process=True``), which checks that a frozen bundle can spawn workers. Prints
    SMOKE_TEST_MESSAGE to stdout (and appends it to the file named by SVDSTUDIO_SMOKE_TEST_LOG) and
    exits the event loop with 0; on failure or after ``timeout_s`` prints the reason to stderr and
    exits with 1. Either way the window is closed first (its closeEvent stops the JobRunner; set
    whatever keeps a smoke run from saving settings before calling this). Call after
    ``window.show()`` and before ``app.exec()``.
    """
    deadline = time.monotonic() + timeout_s
    state = {"worker": "pending" if getattr(window, "runner", None) is not None else "skipped"}
    timer = QTimer(window)
    timer.setInterval(50)

    def say(message: str, error: bool = False) -> None:
        stream = sys.stderr if error else sys.stdout
        if stream is not None:
            print(message, file=stream, flush=True)
        log = os.environ.get(SMOKE_TEST_LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(message + "\n")

    def finish(code: int, message: str) -> None:
        timer.stop()
        say(message, error=code != 0)
        window.close()  # the window's closeEvent shuts its JobRunner down
        QApplication.exit(code)

    def on_result(values: object) -> None:
        from svdstudio.smoke import SMOKE_SINGULAR_VALUES

        expected = SMOKE_SINGULAR_VALUES
        ok = isinstance(values, list) and len(values) == len(expected)
        ok = ok and all(abs(a - b) < 1e-9 for a, b in zip(values, expected, strict=True))
        if ok:
            state["worker"] = "ok"
            say(SMOKE_WORKER_MESSAGE)
        else:
            finish(1, f"SVD Studio smoke test: FAILED: worker returned {values!r}")

    def on_error(message: str, details: str = "") -> None:
        finish(1, f"SVD Studio smoke test: FAILED: worker job: {message}\n{details}".rstrip())

    def poll() -> None:
        handle = window.windowHandle()
        shown = window.isVisible() and handle is not None and handle.isExposed()
        is_ready = ready is None or bool(ready())
        if shown and is_ready and state["worker"] in ("ok", "skipped"):
            finish(0, SMOKE_TEST_MESSAGE)
        elif time.monotonic() > deadline:
            finish(
                1,
                f"SVD Studio smoke test: FAILED after {timeout_s:g} s "
                f"(window shown: {shown}, ready: {is_ready}, worker: {state['worker']})",
            )

    def start() -> None:
        if state["worker"] == "pending":
            try:
                from svdstudio.smoke import worker_check

                window.runner.submit(  # type: ignore[attr-defined]
                    "smoke",
                    worker_check,
                    description="Smoke test",
                    in_process=True,
                    on_result=on_result,
                    on_error=on_error,
                )
            except Exception:  # a broken bundle must fail the check, not hang it
                finish(1, "SVD Studio smoke test: FAILED:\n" + traceback.format_exc())
                return
        timer.start()

    timer.timeout.connect(poll)
    QTimer.singleShot(0, start)
