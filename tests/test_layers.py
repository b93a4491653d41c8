"""The layering rule: engine, io and the CLI never load Qt (checked in a fresh interpreter)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import svdstudio.engine, svdstudio.io, svdstudio.cli
from svdstudio.cli import build_parser
build_parser()
qt = ("PySide6", "pyqtgraph", "shiboken6")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in qt)
ours = sorted(m for m in sys.modules if m.startswith("svdstudio"))
print(json.dumps({"qt": loaded, "ours": ours}))
"""


def test_engine_io_and_cli_do_not_load_qt():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["qt"] == []
    # The probe really imported the three layers (and no ui module came along).
    assert {"svdstudio.engine", "svdstudio.io", "svdstudio.cli"} <= set(report["ours"])
    assert not [m for m in report["ours"] if m.startswith("svdstudio.ui")]
