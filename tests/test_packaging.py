"""Packaging: icons, the Linux launcher and its install script, resources in checkout and wheel."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from svdstudio.io.filetypes import MIME_TYPES
from svdstudio.resources import resource_path, resources_root

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "io.github.svdstudio.SVDStudio"
DESKTOP = ROOT / "packaging" / "linux" / f"{APP_ID}.desktop"
INSTALL = ROOT / "packaging" / "linux" / "install-desktop.sh"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


# --- icons -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_sizes(size):
    path = resource_path("icons", f"svdstudio-{size}.png")
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == (size, size)
        assert im.mode == "RGBA"
        # rounded corners are transparent, the middle is opaque
        assert im.getpixel((0, 0))[3] == 0
        assert im.getpixel((size // 2, size // 2))[3] == 255


def test_icon_svg_ico_icns():
    svg = resource_path("icons", "svdstudio.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and 'viewBox="0 0 256 256"' in svg
    with Image.open(resource_path("icons", "svdstudio.ico")) as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(resource_path("icons", "svdstudio.icns")) as icns:
        assert icns.format == "ICNS"
        assert (512, 512, 2) in icns.info["sizes"]


def test_attribution_credits_the_icon():
    text = resource_path("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "## Application icon" in text


# --- Linux launcher ----------------------------------------------------------------------


def test_desktop_file_fields():
    entry = _desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "SVD Studio"
    assert entry["Exec"] == "svdstudio %f"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "SVD Studio"  # = QApplication.applicationName()
    mimes = entry["MimeType"].split(";")
    assert mimes[-1] == ""  # lists end with ';'
    assert tuple(mimes[:-1]) == MIME_TYPES
    assert {"image/png", "image/jpeg", "text/csv", "text/tab-separated-values"} <= set(mimes)


def test_mime_package_defines_the_custom_types():
    xml = (ROOT / "packaging" / "linux" / f"{APP_ID}.xml").read_text(encoding="utf-8")
    custom = [m for m in MIME_TYPES if m.startswith("application/")]
    assert custom == ["application/x-npy", "application/x-svdstudio-factors"]
    for mime in custom:
        assert f'<mime-type type="{mime}">' in xml
    assert '<glob pattern="*.npy"/>' in xml and '<glob pattern="*.svdz"/>' in xml


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    return subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30)


def test_desktop_file_validates_without_messages():
    proc = _validate(DESKTOP)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_install_script_installs_and_uninstalls(tmp_path):
    if sys.platform == "win32":
        pytest.skip("the launcher install script is for Linux desktops")
    data = tmp_path / "data"
    exe = tmp_path / "bin dir" / "svdstudio"  # a space, to check Exec quoting
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(data), HOME=str(tmp_path))
    proc = subprocess.run(
        ["sh", str(INSTALL), "--exec", str(exe)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    installed = data / "applications" / f"{APP_ID}.desktop"
    entry = _desktop_entry(installed)
    assert entry["Exec"] == f'"{exe}" %f'
    assert entry["TryExec"] == str(exe)
    assert entry["Icon"] == APP_ID
    for size in SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        with Image.open(png) as im:
            assert im.size == (size, size)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (data / "mime" / "packages" / f"{APP_ID}.xml").is_file()
    if shutil.which("desktop-file-validate"):
        check = _validate(installed)
        assert (check.returncode, check.stdout, check.stderr) == (0, "", "")

    proc = subprocess.run(
        ["sh", str(INSTALL), "--uninstall"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    left = sorted(p.name for p in data.rglob(f"{APP_ID}*"))
    assert left == []


def test_install_script_without_svdstudio_on_path(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), PATH="/usr/bin:/bin")
    proc = subprocess.run(["sh", str(INSTALL)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "no 'svdstudio' on PATH" in proc.stderr
    assert not (tmp_path / "applications").exists()


# --- resources: checkout, frozen bundle, wheel --------------------------------------------


def test_resource_path_in_checkout():
    assert resources_root() == ROOT / "resources"
    assert resource_path("icons", "svdstudio.svg") == ROOT / "resources" / "icons" / "svdstudio.svg"
    assert resource_path("icons", "svdstudio.svg").is_file()


def test_resource_path_in_pyinstaller_bundle(tmp_path, monkeypatch):
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("icons", "x.png") == tmp_path / "resources" / "icons" / "x.png"


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_top_level_layout():
    # issue 2 §1: resources ship through pyproject.toml alone, no setup.py / MANIFEST.in
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    top = {name.split("/")[0] for name in tracked.stdout.splitlines()}
    allowed = {"pyproject.toml", "README.md", "svdstudio", "resources", "tests", "packaging"}
    allowed |= {".ci", "Makefile"}
    # issue 9 §5: contributor docs; issue 13: the reproducible training script of the networks
    allowed |= {"CONTRIBUTING.md", "CHANGELOG.md", "tools"}
    extra = sorted(n for n in top if not n.startswith(".") and n not in allowed)
    assert extra == [], "issue 2 §1 allows only: " + ", ".join(sorted(allowed))


def test_pyproject_lists_every_package():
    setuptools_cfg = _pyproject()["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "svdstudio").rglob("__init__.py")
        if "_resources" not in p.parts
    }
    assert set(setuptools_cfg["packages"]) == on_disk | {"svdstudio._resources"}
    assert setuptools_cfg["package-dir"] == {"svdstudio._resources": "resources"}


def _can_build_wheel_offline() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
    return version >= (77, 0)


def _shipped_resources() -> set[str]:
    """Every file under resources/ that belongs in the wheel (README screenshots do not)."""
    return {
        p.relative_to(ROOT / "resources").as_posix()
        for p in (ROOT / "resources").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.relative_to(ROOT / "resources").parts[0] != "screenshots"
    }


@pytest.mark.skipif(
    not _can_build_wheel_offline(),
    reason="building the wheel offline needs setuptools>=77 (pip install -e .[test])",
)
def test_sdist_and_wheel_contain_resources_and_find_them_when_installed(tmp_path):
    # Build from a copy, so the checkout gets no build/ or *.egg-info and no stale files leak in.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_resources")
    shutil.copytree(ROOT / "svdstudio", src / "svdstudio", ignore=ignore)
    shutil.copytree(ROOT / "resources", src / "resources", ignore=ignore)

    # The sdist (what pip builds from when there is no wheel) carries resources/ ...
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    code = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    sdist = subprocess.run(
        [sys.executable, "-c", code, str(dist)],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sdist.returncode == 0, sdist.stdout + sdist.stderr
    archive = dist / sdist.stdout.split()[-1]
    with tarfile.open(archive) as tf:
        top = tf.getnames()[0].split("/")[0]
        members = {n.removeprefix(top + "/") for n in tf.getnames()}
        tf.extractall(tmp_path / "unpacked", filter="data")
    in_sdist = {n.removeprefix("resources/") for n in members if n.startswith("resources/")}
    assert _shipped_resources() <= in_sdist
    assert not any(n.startswith("screenshots") for n in in_sdist)

    # ... and the wheel built from that sdist has them as svdstudio/_resources.
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    unpacked = tmp_path / "unpacked" / top
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, unpacked],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("svdstudio-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    in_wheel = {
        n.removeprefix("svdstudio/_resources/")
        for n in names
        if n.startswith("svdstudio/_resources/")
    }
    assert in_wheel == _shipped_resources()
    assert {"ATTRIBUTION.md", "icons/svdstudio-256.png", "datasets/iris.csv"} <= in_wheel
    if (ROOT / "resources" / "images").is_dir():
        assert any(n.startswith("images/") for n in in_wheel)
    assert "svdstudio/__init__.py" in names and "svdstudio/ui/__init__.py" in names

    site = tmp_path / "site"
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", site, wheel],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    code = (
        "import svdstudio, svdstudio.resources as r;"
        "print(svdstudio.__file__); print(r.resource_path('icons', 'svdstudio-48.png'))"
    )
    env["PYTHONPATH"] = str(site)
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    module_file, icon = (Path(line) for line in run.stdout.split())
    assert module_file.is_relative_to(site)
    assert icon == site / "svdstudio" / "_resources" / "icons" / "svdstudio-48.png"
    assert icon.is_file()
