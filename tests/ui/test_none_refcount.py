"""Regression: PySide6 6.12.0 on Python 3.11 drops references to None in calls that return
nothing, until None's refcount reaches zero and the process aborts (none_dealloc).  The
dependency pins avoid that release; this test keeps them honest."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CALLS = 10_000

PROBE = f"""
import gc, sys
from PySide6.QtWidgets import QApplication, QLabel, QWidget

app = QApplication([])
widget = QWidget()
label = QLabel("start", widget)

def churn(n):
    for i in range(n):
        label.setText(str(i))          # each returns None
        widget.setToolTip("tip")
        label.setEnabled(i % 2 == 0)

churn(100)  # warm up caches before measuring
gc.collect()
before = sys.getrefcount(None)
churn({CALLS} // 3 + 1)
gc.collect()
after = sys.getrefcount(None)
print(before, after, flush=True)
"""


def test_ten_thousand_void_qt_calls_keep_none_alive():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr.decode()[-2000:])
    before, after = (int(x) for x in proc.stdout.split())
    # A leak of one reference per call would show as a fall of thousands.
    assert after >= before, f"refcount of None fell from {before} to {after}"
