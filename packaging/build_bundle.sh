#!/usr/bin/env bash
# Build the one-folder SVD Studio bundle with PyInstaller:   packaging/build_bundle.sh
#
# Creates (or reuses) a build venv in build/bundle-venv, installs PyInstaller and SVD Studio with
# its dependencies into it, runs packaging/svdstudio.spec and prints the bundle's size.
# Result: dist/SVDStudio/ (Linux, Windows: run dist/SVDStudio/SVDStudio[.exe]) or
# dist/SVDStudio.app (macOS). Then check it: python packaging/smoke_test.py
#
# Environment: PYTHON (interpreter for the venv, default python3 or python),
# BUNDLE_VENV (venv folder), PYINSTALLER_SPEC ("pyinstaller>=6.10" by default).
# Works in bash on Linux, macOS and Windows (Git Bash).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-$(command -v python3 || command -v python)}
VENV=${BUNDLE_VENV:-$ROOT/build/bundle-venv}
PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-"pyinstaller>=6.10"}

if [ -x "$VENV/bin/python" ]; then
    VPY="$VENV/bin/python"
elif [ -x "$VENV/Scripts/python.exe" ]; then
    VPY="$VENV/Scripts/python.exe"
else
    echo "Creating build venv $VENV"
    "$PYTHON" -m venv "$VENV"
    if [ -x "$VENV/bin/python" ]; then VPY="$VENV/bin/python"; else VPY="$VENV/Scripts/python.exe"; fi
    "$VPY" -m pip install --quiet --upgrade pip
fi

echo "Installing PyInstaller and SVD Studio into the build venv"
# pip builds the checkout in place; setuptools never cleans build/lib, so files deleted from the
# sources would otherwise come back from an earlier build.
rm -rf "$ROOT/build/lib" "$ROOT"/build/bdist.*
"$VPY" -m pip install --quiet "$PYINSTALLER_SPEC" "$ROOT"

echo "Running PyInstaller"
start=$(date +%s)
"$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$ROOT/packaging/svdstudio.spec"
end=$(date +%s)

if [ -d "$ROOT/dist/SVDStudio.app" ]; then
    BUNDLE="$ROOT/dist/SVDStudio.app"
else
    BUNDLE="$ROOT/dist/SVDStudio"
fi
SIZE=$(du -sh "$BUNDLE" | cut -f1)
FILES=$(find "$BUNDLE" -type f | wc -l | tr -d ' ')
echo "Built $BUNDLE in $((end - start)) s: $SIZE on disk, $FILES files"
echo "Check it with: python packaging/smoke_test.py"
