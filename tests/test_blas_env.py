"""OpenBLAS's idle threads sleep instead of spinning (svdstudio.blas_env), in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from svdstudio.blas_env import BLAS_THREAD_TIMEOUT
from tests import _jobs

ROOT = Path(__file__).resolve().parents[1]
VAR = "OPENBLAS_THREAD_TIMEOUT"

# 20 GEMMs, each followed by a 50 ms pause: OpenBLAS's default 2^28-cycle spin keeps its
# helper thread on a core through every pause (about 1 s of CPU here), the calm setting not.
SPIN_PROBE = """
import time
import numpy as np
a = np.random.default_rng(0).standard_normal((500, 500)).astype(np.float32)
a @ a
c0 = time.process_time()
for _ in range(20):
    a @ a
    time.sleep(0.05)
print(time.process_time() - c0)
"""


def _python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != VAR}
    clean.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_every_entry_point_sets_it_before_numpy_loads():
    for module in ("svdstudio", "svdstudio.app", "svdstudio.cli", "svdstudio.__main__"):
        code = (
            "import sys\n"
            "import svdstudio.blas_env as b\n"
            "first = 'numpy' not in sys.modules\n"
            f"import {module}\n"
            f"import os; print(first, os.environ['{VAR}'])"
        )
        assert _python(code) == f"True {BLAS_THREAD_TIMEOUT}", module


def test_a_value_the_user_set_is_kept():
    assert _python(f"import svdstudio, os; print(os.environ['{VAR}'])", **{VAR: "9"}) == "9"


def test_blas_threads_no_longer_spin_between_calls():
    cpu = float(_python("import svdstudio\n" + SPIN_PROBE))
    # Calm: the GEMMs themselves (about 0.02 s); spinning, about 1 s on two cores.
    assert cpu < 0.5, f"{cpu:.2f} s of CPU for 20 small GEMMs: the BLAS threads spun"


def test_worker_processes_inherit_it(qtbot, runner):
    with qtbot.waitSignal(runner.result_ready, timeout=60000) as blocker:
        runner.submit("p", _jobs.environment, VAR, in_process=True)
    assert blocker.args[2] == os.environ[VAR]  # the GUI process's: ours, or the user's
