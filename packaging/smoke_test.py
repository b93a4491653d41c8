"""Check that a built bundle starts headless, opens its main window and runs a worker job.

    python packaging/smoke_test.py [PATH_TO_EXECUTABLE] [--timeout SECONDS]

Default executable: dist/SVDStudio/SVDStudio (.exe on Windows; on macOS
dist/SVDStudio.app/Contents/MacOS/SVDStudio). Runs it with ``--smoke-test`` and
QT_QPA_PLATFORM=offscreen in a throwaway home/config folder, and passes if it exits 0 having
written "SVD Studio smoke test: main window shown". The message is read from stdout and from the
file named by SVDSTUDIO_SMOKE_TEST_LOG (a windowed Windows executable has no stdout).
Exit status: 0 pass, 1 fail. Needs only the Python standard library.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = "SVD Studio smoke test: main window shown"


def default_executable() -> Path:
    if sys.platform == "win32":
        return ROOT / "dist" / "SVDStudio" / "SVDStudio.exe"
    if sys.platform == "darwin":
        return ROOT / "dist" / "SVDStudio.app" / "Contents" / "MacOS" / "SVDStudio"
    return ROOT / "dist" / "SVDStudio" / "SVDStudio"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executable", nargs="?", type=Path, default=default_executable())
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    args = parser.parse_args(argv)
    exe = args.executable.resolve()
    if not exe.is_file():
        print(f"smoke test: {exe} not found; build it with packaging/build_bundle.sh")
        return 1
    with tempfile.TemporaryDirectory(prefix="svdstudio-smoke-") as tmp:
        log = Path(tmp) / "smoke.log"
        env = dict(os.environ)
        env.update(
            QT_QPA_PLATFORM="offscreen",
            SVDSTUDIO_SMOKE_TEST="1",
            SVDSTUDIO_SMOKE_TEST_LOG=str(log),
            SVDSTUDIO_SETTINGS=str(Path(tmp) / "settings.ini"),  # not the user's (or registry)
            HOME=tmp,  # fresh settings: a first start, as on a new machine
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            XDG_DATA_HOME=str(Path(tmp) / "data"),
            XDG_RUNTIME_DIR=tmp,
        )
        if sys.platform == "win32":
            env.update(APPDATA=str(Path(tmp) / "AppData"), LOCALAPPDATA=str(Path(tmp) / "Local"))
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [str(exe), "--smoke-test"],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
        except subprocess.TimeoutExpired as exc:
            print(f"smoke test: FAILED: no exit within {args.timeout:g} s")
            print((exc.stdout or b"")[-4000:], (exc.stderr or b"")[-4000:], sep="\n")
            return 1
        elapsed = time.monotonic() - start
        logged = log.read_text(encoding="utf-8") if log.exists() else ""
    shown = MESSAGE in proc.stdout or MESSAGE in logged
    print(f"smoke test: exit status {proc.returncode} after {elapsed:.1f} s")
    for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("log", logged)):
        if text.strip():
            print(f"--- {stream} ---\n{text.strip()[-4000:]}")
    bundle = exe.parents[2] if sys.platform == "darwin" else exe.parent
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB)")
    if proc.returncode == 0 and shown:
        print("smoke test: PASSED")
        return 0
    print(f"smoke test: FAILED (expected exit 0 and {MESSAGE!r})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
