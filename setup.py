"""Build hook: ship the top-level ``resources/`` folder in the wheel as ``svdstudio/_resources``.

All metadata lives in pyproject.toml. An editable install needs no copy: ``svdstudio.resources``
finds ``resources/`` beside the package in a checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithResources(build_py):
    """build_py that also copies resources/ into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = HERE / "resources"
        target = Path(self.build_lib) / "svdstudio" / "_resources"
        if target.exists():
            shutil.rmtree(target)  # no stale files from an earlier build
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithResources})
