"""Only the tab on show is built at start; the others when first needed, each exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from svdstudio.app import TABS_WITH_STATE_KEY, MainWindow
from svdstudio.ui.tab_contract import TabSpec
from tests.ui.test_main_window_shell import FakeTab

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("matrix", "image", "dataset")


class Counting:
    """Fake tab specs that count how often each tab is built."""

    def __init__(self, kinds=KINDS):
        self.built: list[str] = []
        self.specs = [
            TabSpec(
                k,
                k.title(),
                frozenset({k}),
                lambda runner, k=k: self._build(runner, k),
                file_filter=f"{k} files (*.{k})",
            )
            for k in kinds
        ]

    def _build(self, runner, kind):
        self.built.append(kind)
        return FakeTab(runner, kind)


@pytest.fixture
def ini(tmp_path):
    return str(tmp_path / "settings.ini")


def _window(qtbot, ini, counting):
    w = MainWindow(counting.specs, QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    return w


def test_only_the_tab_on_show_is_built_and_each_tab_once(qtbot, ini):
    c = Counting()
    w = _window(qtbot, ini, c)
    try:
        assert c.built == ["matrix"]
        assert w.tabs.count() == 3
        assert [w.tabs.tabText(i) for i in range(3)] == ["Matrix", "Image", "Dataset"]
        w.tabs.setCurrentIndex(2)
        assert c.built == ["matrix", "dataset"]
        dataset = w.tabs.currentWidget()
        assert dataset is w.tab_by_kind["dataset"] and dataset.kind == "dataset"
        assert dataset.calls == ["load_defaults"]
        w.tabs.setCurrentIndex(0)
        w.tabs.setCurrentIndex(2)
        assert c.built == ["matrix", "dataset"]  # built once
        assert dataset.calls == ["load_defaults"]
        assert w.tabs.currentWidget() is dataset
        assert [w.tabs.tabText(i) for i in range(3)] == ["Matrix", "Image", "Dataset"]
        # the built tab is wired: its status sentence, its title and its undo stack
        dataset.status_message.emit("3 rows")
        assert w.statusBar().currentMessage() == "3 rows"
        assert w.windowTitle() == "dataset.dataset — SVD Studio"
        assert w.undo_group.activeStack() is dataset.stack
    finally:
        w.runner.shutdown()


def test_open_path_builds_the_tab_for_the_file(qtbot, ini, tmp_path, monkeypatch):
    c = Counting()
    w = _window(qtbot, ini, c)
    monkeypatch.setattr(w, "kind_for_path", lambda path: "image")
    try:
        path = tmp_path / "a.image"
        path.write_text("x")
        assert w.open_path(str(path))
        assert c.built == ["matrix", "image"]
        image = w.tab_by_kind["image"]
        assert w.tabs.currentWidget() is image
        assert image.calls == ["load_defaults", f"open:{path}"]
        assert w.recent_files() == [str(path)]
    finally:
        w.runner.shutdown()


def test_the_open_dialog_lists_every_tab_without_building_it(qtbot, ini):
    c = Counting()
    w = _window(qtbot, ini, c)
    try:
        assert w.file_filter() == (
            "matrix files (*.matrix);;image files (*.image);;dataset files (*.dataset)"
            ";;All files (*)"
        )
        assert c.built == ["matrix"]
    finally:
        w.runner.shutdown()


def test_the_last_tab_comes_back_and_unvisited_tabs_keep_their_state(qtbot, ini):
    c1 = Counting()
    w1 = _window(qtbot, ini, c1)
    w1.tab_by_kind["image"].value = 7
    w1.tabs.setCurrentIndex(2)
    assert w1.close()
    assert c1.built == ["matrix", "image", "dataset"]
    s = QSettings(ini, QSettings.Format.IniFormat)
    assert s.value(TABS_WITH_STATE_KEY) == ["matrix", "image", "dataset"]

    c2 = Counting()
    w2 = _window(qtbot, ini, c2)
    assert w2.tabs.currentIndex() == 2
    assert c2.built == ["dataset"]  # only the restored tab
    assert w2.tabs.currentWidget().calls == ["restore_state"]
    w2.tabs.setCurrentIndex(0)
    assert w2.tab_by_kind["matrix"].calls == ["restore_state"]
    assert w2.close()  # the image tab was never built: what it saved before stays
    assert c2.built == ["dataset", "matrix"]

    c3 = Counting()
    w3 = _window(qtbot, ini, c3)
    assert c3.built == ["matrix"]
    image = w3.tab_by_kind["image"]
    assert image.calls == ["restore_state"] and image.value == 7
    for w in (w1, w2, w3):
        w.runner.shutdown()


def test_a_tab_first_shown_after_the_first_start_gets_its_defaults(qtbot, ini):
    c1 = Counting()
    w1 = _window(qtbot, ini, c1)
    assert w1.close()  # only the matrix tab was ever built
    c2 = Counting()
    w2 = _window(qtbot, ini, c2)
    try:
        assert w2.tab_by_kind["matrix"].calls == ["restore_state"]
        assert w2.tab_by_kind["image"].calls == ["load_defaults"]
        assert w2.tab_by_kind["image"].value == 42
    finally:
        w1.runner.shutdown()
        w2.runner.shutdown()


def test_settings_from_a_version_that_built_every_tab_are_restored(qtbot, ini):
    s = QSettings(ini, QSettings.Format.IniFormat)
    s.setValue("initialized", True)
    s.setValue("window/tab", 1)
    s.setValue("image/value", 5)
    s.sync()
    c = Counting()
    w = _window(qtbot, ini, c)
    try:
        assert c.built == ["image"]
        assert w.tabs.currentWidget().calls == ["restore_state"]
        assert w.tabs.currentWidget().value == 5
        assert w.tab_by_kind["dataset"].calls == ["restore_state"]
    finally:
        w.runner.shutdown()


def test_a_remembered_tab_index_out_of_range_shows_the_first(qtbot, ini):
    s = QSettings(ini, QSettings.Format.IniFormat)
    s.setValue("initialized", True)
    s.setValue("window/tab", 9)
    s.sync()
    c = Counting()
    w = _window(qtbot, ini, c)
    try:
        assert w.tabs.currentIndex() == 0 and c.built == ["matrix"]
    finally:
        w.runner.shutdown()


def test_closing_asks_only_the_tabs_that_were_built(qtbot, ini):
    c = Counting()
    w = _window(qtbot, ini, c)
    try:
        w.tab_by_kind["image"].allow_close = False
        w.tabs.setCurrentIndex(0)
        assert not w.close()
        assert w.tabs.currentWidget() is w.tab_by_kind["image"]
        w.tab_by_kind["image"].allow_close = True
        assert w.close()
        assert c.built == ["matrix", "image"]  # closing built nothing more
    finally:
        w.runner.shutdown()


def test_a_tab_that_fails_to_build_is_reported_and_the_window_stays(qtbot, ini, monkeypatch):
    def broken(runner):
        raise RuntimeError("no such widget")

    c = Counting()
    specs = [*c.specs, TabSpec("broken", "Broken", frozenset({"x"}), broken)]
    w = MainWindow(specs, QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    opened = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: opened.append(box))
    try:
        w.tabs.setCurrentIndex(3)
        assert len(opened) == 1 and opened[0].objectName() == "errorDialog"
        assert "Broken tab could not be opened: no such widget" in opened[0].text()
        assert "RuntimeError" in opened[0].detailedText()
        w.tabs.setCurrentIndex(1)  # the rest still works
        assert w.tabs.currentWidget() is w.tab_by_kind["image"]
    finally:
        w.runner.shutdown()


START_PROBE = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from svdstudio.app import create_main_window
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
window = create_main_window(settings)
window.show()
# Before the event loop runs: what the start itself imported and built.
mods = sorted(m for m in sys.modules if m.startswith(("scipy", "svdstudio.ui.")))
print(json.dumps({
    "built": [type(t).__name__ for t in window.built_tabs()],
    "current": type(window.tabs.currentWidget()).__name__,
    "modules": mods,
}))
window.runner.shutdown()
"""


def _start(ini: str) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", START_PROBE, ini],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_fresh_start_imports_neither_scipy_nor_the_other_tabs(ini):
    got = _start(ini)
    assert got["built"] == ["MatrixTab"] and got["current"] == "MatrixTab"
    mods = set(got["modules"])
    assert "svdstudio.ui.matrix.tab" in mods
    assert not any(m == "scipy" or m.startswith("scipy.") for m in mods), sorted(mods)
    for other in ("image", "dataset", "network"):
        assert f"svdstudio.ui.{other}.spec" in mods  # the registry is read
        assert not any(
            m.startswith(f"svdstudio.ui.{other}.") and m != f"svdstudio.ui.{other}.spec"
            for m in mods
        ), other


def test_a_start_on_the_remembered_tab_builds_only_that_tab(ini):
    s = QSettings(ini, QSettings.Format.IniFormat)
    s.setValue("initialized", True)
    s.setValue("window/tab", 2)  # Dataset
    s.setValue(TABS_WITH_STATE_KEY, ["matrix", "dataset"])
    s.sync()
    got = _start(ini)
    assert got["built"] == ["DatasetTab"] and got["current"] == "DatasetTab"
    mods = set(got["modules"])
    assert "svdstudio.ui.matrix.tab" not in mods and "svdstudio.ui.image.tab" not in mods


def test_open_path_of_an_image_builds_the_image_tab_and_opens_it(qtbot, main_window, tmp_path):
    from PIL import Image

    w = main_window
    assert [type(t).__name__ for t in w.built_tabs()] == ["MatrixTab"]
    path = tmp_path / "grey.png"
    Image.new("L", (24, 16), 128).save(path)
    assert w.open_path(str(path))
    image = w.tab_by_kind["image"]
    assert [type(t).__name__ for t in w.built_tabs()] == ["MatrixTab", "ImageTab"]
    assert w.tabs.currentWidget() is image
    qtbot.waitUntil(lambda: image.document_title() == "grey.png", timeout=20000)
    assert w.windowTitle() == "grey.png — SVD Studio"
    assert w.recent_files() == [str(path)]


def test_preload_imports_the_unbuilt_tabs_modules_off_the_gui_thread(
    qtbot, ini, tmp_path, monkeypatch
):
    probe = "svdstudio_preload_probe_{}"
    for name, body in (
        ("image", "import threading\nTHREAD = threading.current_thread().name\n"),
        ("matrix", "THREAD = 'imported'\n"),
        ("broken", "raise ImportError('half installed')\n"),
    ):
        (tmp_path / f"{probe.format(name)}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    c = Counting()
    specs = [
        TabSpec(s.kind, s.title, s.opens, s.factory, preload=preload)
        for s, preload in zip(
            c.specs,
            [(probe.format("matrix"),), (probe.format("broken"), probe.format("image")), ()],
            strict=True,
        )
    ]
    w = MainWindow(specs, QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    try:
        thread = w.preload_tabs()
        assert thread is not None and thread.name == "svdstudio-preload"
        thread.join(30)
        assert sys.modules[probe.format("image")].THREAD == "svdstudio-preload"
        assert probe.format("matrix") not in sys.modules  # its tab was built already
        assert probe.format("broken") not in sys.modules  # and it fails again, when built
        with pytest.raises(ImportError, match="half installed"):
            __import__(probe.format("broken"))
        assert c.built == ["matrix"]  # preloading builds no tab
        assert w.preload_tabs() is None  # once per window
    finally:
        for name in ("image", "matrix", "broken"):
            sys.modules.pop(probe.format(name), None)
        w.runner.shutdown()


def test_what_the_tabs_preload_is_free_of_qt():
    from svdstudio.ui.tabs import registered_tabs

    names = [n for spec in registered_tabs() for n in spec.preload]
    assert "scipy.ndimage" in names  # the Image tab's slowest import
    code = (
        "import importlib, json, sys\n"
        "for n in sys.argv[1:]: importlib.import_module(n)\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code, *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_a_file_given_at_start_picks_the_first_tab_built(qtbot, ini, tmp_path):
    from PIL import Image

    s = QSettings(ini, QSettings.Format.IniFormat)
    s.setValue("initialized", True)
    s.setValue("window/tab", 2)  # remembered: Dataset
    s.sync()
    path = tmp_path / "a.png"
    Image.new("L", (4, 3)).save(path)
    c = Counting()
    w = MainWindow(c.specs, QSettings(ini, QSettings.Format.IniFormat), start_with=str(path))
    qtbot.addWidget(w)
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"PK\x03\x04")
    c2 = Counting()
    w2 = MainWindow(c2.specs, QSettings(ini, QSettings.Format.IniFormat), start_with=str(odd))
    qtbot.addWidget(w2)
    try:
        assert c.built == ["image"] and w.tabs.currentIndex() == 1
        assert c2.built == ["dataset"]  # a file no tab opens: the remembered tab
    finally:
        w.runner.shutdown()
        w2.runner.shutdown()


def test_the_real_window_started_with_an_image_builds_only_the_image_tab(qtbot, tmp_path):
    from PIL import Image

    from svdstudio.app import create_main_window

    path = tmp_path / "a.png"
    Image.new("L", (8, 6), 200).save(path)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = create_main_window(settings, start_with=str(path))
    qtbot.addWidget(w)
    try:
        assert [type(t).__name__ for t in w.built_tabs()] == ["ImageTab"]
        assert w.open_path(str(path))
        assert [type(t).__name__ for t in w.built_tabs()] == ["ImageTab"]
        qtbot.waitUntil(lambda: w.tab_by_kind["image"].document_title() == "a.png", timeout=20000)
    finally:
        w.runner.shutdown()
