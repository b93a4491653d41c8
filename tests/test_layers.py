"""The layering rule at run time: engine, io, commands and the CLI never load Qt.

import-linter (``lint-imports``, run by .ci/run) checks the imports it can see in the source;
this test imports *every* module of those layers in a fresh interpreter, so an import hidden
inside a function that runs at import time is caught too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("engine", "io", "commands")


def _modules() -> list[str]:
    mods = ["svdstudio.cli"]
    for layer in LAYERS:
        for path in sorted((ROOT / "svdstudio" / layer).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods.append(".".join(parts))
    return mods


PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from svdstudio.cli import build_parser
build_parser()
qt = ("PySide6", "pyqtgraph", "shiboken6")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in qt)
ours = sorted(m for m in sys.modules if m.startswith("svdstudio"))
print(json.dumps({"qt": loaded, "ours": ours}))
"""


def test_every_engine_io_and_command_module_is_found():
    mods = _modules()
    # a sample of what must be there, so a broken walk cannot pass with an empty list
    for name in ("svdstudio.engine.image.factors", "svdstudio.io.atomic", "svdstudio.commands.svd"):
        assert name in mods
    assert len(mods) >= 25


def test_engine_io_and_cli_do_not_load_qt():
    mods = _modules()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *mods],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["qt"] == []
    assert set(mods) <= set(report["ours"])
    assert not [m for m in report["ours"] if m.startswith("svdstudio.ui")]
