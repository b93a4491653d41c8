"""Every view that says it previews alone does: ``python -m svdstudio.ui.<package>.<module>``.

Like pyqtgraph's example runner: each preview runs in a fresh interpreter, offscreen; a timer
records which top-level widgets are on show after a moment, then quits the event loop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "svdstudio" / "ui"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def preview_modules() -> list[str]:
    return sorted(
        _module(p) for p in UI.rglob("*.py") if 'if __name__ == "__main__":' in p.read_text()
    )


def promised_previews() -> set[str]:
    """Modules that some docstring or README line tells a user to run with python -m."""
    texts = [p.read_text() for p in (ROOT / "svdstudio").rglob("*.py")]
    texts += [(ROOT / "README.md").read_text(), (ROOT / "CONTRIBUTING.md").read_text()]
    return {m for t in texts for m in re.findall(r"python -m (svdstudio\.ui\.[\w.]+)", t)}


RUNNER = """
import json, runpy, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication.instance() or QApplication([sys.argv[0]])
shown = []
def look():
    for w in app.topLevelWidgets():
        if w.isVisible():
            shown.append({"cls": type(w).__name__, "w": w.width(), "h": w.height()})
    app.quit()
QTimer.singleShot(2500, look)
sys.argv = [sys.argv[1]]
code = 0
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
print("PREVIEW " + json.dumps({"code": code, "shown": shown}))
"""


def test_every_promised_preview_exists():
    have = set(preview_modules())
    assert len(have) >= 4
    assert promised_previews() - have == set()


@pytest.mark.parametrize("module", preview_modules())
def test_preview_shows_its_view(module, tmp_path):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT),
        SVDSTUDIO_SETTINGS=str(tmp_path / "settings.ini"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, module],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    out = proc.stdout.decode()
    line = next((ln for ln in out.splitlines() if ln.startswith("PREVIEW ")), None)
    assert line is not None, proc.stderr.decode()[-3000:]
    report = json.loads(line[len("PREVIEW ") :])
    assert report["code"] == 0
    assert report["shown"], f"{module} showed no window"
    assert all(w["w"] >= 200 and w["h"] >= 150 for w in report["shown"]), report
