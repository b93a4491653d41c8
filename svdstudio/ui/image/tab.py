"""The Image lab tab: low-rank image compression with honest byte counts and quality metrics.

The tab keeps the contract with the main window and opens files; its state and jobs live in
an :class:`~svdstudio.ui.image.session.ImageSession`, and the widgets (built by
:class:`~svdstudio.ui.image.layout.ImageLayout`) are driven by composed controllers: the
renderer (rank controls and panes), the measurements (metrics, gallery, plot, targets), the
notes, the zoom detail and the exporter.  The last image is reopened lazily, when the tab is
first shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from svdstudio.engine.image import ImageFactors, reconstruct_image
from svdstudio.engine.image.factors import TOPK_DEFAULT, choose_method
from svdstudio.io.image_factors import FACTOR_FILE_FILTER, FACTOR_SUFFIXES, load_factors
from svdstudio.io.images import (
    IMAGE_FILE_FILTER,
    ImageFileError,
    ImageTooLargeError,
    LoadedImage,
    load_image,
    probe_image,
    to_uint8,
)
from svdstudio.resources import resource_path
from svdstudio.ui.image.export import ImageExporter
from svdstudio.ui.image.layout import GALLERY_RANKS, MODES, SAMPLES, ImageLayout
from svdstudio.ui.image.measure import THUMB_SIDE, ImageMeasurements
from svdstudio.ui.image.notes import ImageNotes
from svdstudio.ui.image.render import ERROR_LUT, MAX_DISPLAY_SIDE, ImageRenderer
from svdstudio.ui.image.session import ImageSession
from svdstudio.ui.image.views import to_qimage
from svdstudio.ui.image.zoom import ZoomDetail
from svdstudio.ui.widgets import file_dialogs
from svdstudio.workers import JobRunner

__all__ = [
    "GALLERY_RANKS",
    "MAX_DISPLAY_SIDE",
    "MODES",
    "SAMPLES",
    "THUMB_SIDE",
    "ImageTab",
    "ask_large_image",
    "available_memory",
    "full_open_bytes",
]

DOWNSCALE_TO = 16_000_000
# Above this many pixels the file is decoded on a worker thread (Pillow releases the GIL):
# a 12-MP JPEG takes 0.25–0.5 s, far over a 50 ms frame, and a 1.9-MP one about 40 ms with
# its float conversion (most of a frame, more on a busy machine).
DECODE_IN_THREAD_ABOVE = 1_000_000
# The full image is offered only if its estimated memory fits in this share of what is free.
MEMORY_SHARE = 0.8


def full_open_bytes(width: int, height: int, color: bool) -> int:
    """Estimated peak bytes of opening a ``width``×``height`` image in full and decomposing it.

    The float32 pixels, plus the working set of the SVD: one float32 channel at a time
    (two copies while it is decomposed) and the float32 factors of every channel (the full
    U, σ, Vᵀ, or only the top :data:`TOPK_DEFAULT` triplets where the full SVD is too slow).
    """
    nc = 3 if color else 1
    plane = 4 * width * height
    p = min(width, height)
    k = TOPK_DEFAULT if choose_method(height, width) == "topk" else p
    factors = nc * 4 * k * (width + height + 1)
    return nc * plane + 2 * plane + factors


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (None when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def ask_large_image(parent: QtWidgets.QWidget, text: str, offer_full: bool) -> str:
    """Ask what to do with an image above the safety limit: "downscale", "full" or "cancel"."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setWindowTitle("Very large image")
    box.setText(text)
    down = box.addButton("Open a downscaled copy", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    full = (
        box.addButton("Open the full image", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        if offer_full
        else None
    )
    cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(down)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is down:
        return "downscale"
    if full is not None and clicked is full:
        return "full"
    return "cancel"


class ImageTab(QtWidgets.QWidget):
    """Open an image, pick k, compare quality and bytes; export PNG, CSV and factor files."""

    status_message = Signal(str)
    file_opened = Signal(str)
    document_changed = Signal(str, bool)  # the image's name; nothing here is ever unsaved
    factors_ready = Signal()  # the best factors so far are in place (preview or full)
    metrics_ready = Signal()  # the metrics table shows the committed rank

    def __init__(self, runner: JobRunner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageTab")
        self.setAccessibleName("Image lab")
        self.setAcceptDrops(True)
        self.runner = runner
        self.session = ImageSession(runner, self)
        self.ui = ImageLayout(self)
        ui = self.ui
        self.renderer = ImageRenderer(self.session, ui)
        self.measurements = ImageMeasurements(self.session, ui, self._status, self._error)
        self.notes = ImageNotes(self.session, ui)
        self.exporter = ImageExporter(self.session, self, self._status, self._error)
        panes = (ui.original_pane, ui.recon_pane, ui.error_pane)
        self.zoom_detail = ZoomDetail(self.session, panes, ERROR_LUT, self)
        self.renderer.set_zoom(self.zoom_detail)
        self._pending_open: str | None = None  # reopened when the tab is first shown
        self._opens = 0  # open_file calls so far: a deferred reopen yields to a newer one
        ui.open_button.clicked.connect(self.open_dialog)
        ui.sample_combo.activated.connect(self._on_sample)
        ui.fit_button.clicked.connect(self.fit_views)
        for kind, action in ui.export_actions.items():
            action.triggered.connect(lambda _checked=False, kind=kind: self.export(kind))
        ui.view_tabs.currentChanged.connect(lambda _: self.zoom_detail.schedule())
        # The session sizes a big image's preview from the panes (device pixels).
        for pane in panes:
            pane.view.sigResized.connect(self._tell_view_pixels)
        self.session.status.connect(self._status)
        # Only widgets with their state drawn count: metrics_ready follows the table.
        self.session.factors_changed.connect(
            lambda: self.session.factors is not None and self.factors_ready.emit()
        )
        self.session.metrics_ready.connect(self.metrics_ready.emit)

    # ================================================================== conveniences
    def rank(self) -> int:
        """The current rank k (luma rank in YCbCr mode); the session owns it."""
        return self.session.k

    def set_rank(self, k: int) -> None:
        """Set k (e.g. from the gallery or a target) as if the user had chosen it."""
        self.session.set_rank(k)

    def fit_views(self) -> None:
        """Show the whole image in every pane again (undo zoom and pan)."""
        self.ui.compare_group.fit()
        self.ui.layer_group.fit()

    def reconstruction(self) -> np.ndarray | None:
        """The full-resolution rank-k image (float32 [0, 255]) or None."""
        return self.session.reconstruction()

    def export(self, what: str | None = None) -> None:
        """Ask where to save the reconstruction (PNG), metrics (CSV) or factors."""
        self.exporter.export(what)

    def export_png(self, path: str) -> bool:
        return self.exporter.export_png(path)

    def export_metrics_csv(self, path: str) -> bool:
        return self.exporter.export_metrics_csv(path)

    def save_factor_file(self, path: str) -> bool:
        return self.exporter.save_factor_file(path)

    # ================================================================== Tab API
    def file_filter(self) -> str:
        return f"{IMAGE_FILE_FILTER};;{FACTOR_FILE_FILTER}"

    def undo_stack(self) -> None:
        return None

    def copy(self) -> None:
        """Copy the rank-k image (full resolution) to the clipboard."""
        rec = self.reconstruction()
        if rec is not None:
            QtWidgets.QApplication.clipboard().setImage(to_qimage(to_uint8(rec)))
            self._status("Copied the rank-k image to the clipboard.")

    def paste(self) -> None:
        pass

    def select_all(self) -> None:
        pass

    def has_unsaved_changes(self) -> bool:
        return False

    def document_title(self) -> str:
        return self.session.name

    def maybe_save(self) -> bool:
        return True

    def load_defaults(self) -> None:
        self.session.restore_options(self.session.color_mode, 32, self.session.chroma_k)
        self._open_when_shown(str(resource_path("images", "camera.png")))

    def save_state(self, settings: QtCore.QSettings) -> None:
        ui, s = self.ui, self.session
        settings.setValue("image/splitter", ui.splitter.saveState())
        settings.setValue("image/sideSplitter", ui.side_splitter.saveState())
        settings.setValue("image/mode", s.color_mode)
        settings.setValue("image/rank", s.k)
        settings.setValue("image/chromaRank", s.chroma_k)
        settings.setValue("image/viewTab", ui.view_tabs.currentIndex())
        settings.setValue("image/targetKind", ui.target_kind.currentIndex())
        settings.setValue("image/targetValue", ui.target_value.value())
        path = s.image.path if s.image is not None else self._pending_open
        if path:
            settings.setValue("image/lastFile", path)

    def restore_state(self, settings: QtCore.QSettings) -> None:
        ui = self.ui
        for key, widget in (
            ("image/splitter", ui.splitter),
            ("image/sideSplitter", ui.side_splitter),
        ):
            state = settings.value(key)
            if isinstance(state, QtCore.QByteArray):
                widget.restoreState(state)
        mode = str(settings.value("image/mode", "rgb"))
        s = self.session
        k = int(settings.value("image/rank", s.k) or s.k)
        chroma = int(settings.value("image/chromaRank", s.chroma_k) or 0)
        s.restore_options(mode, k, chroma)
        if s.image is None:
            self.renderer._on_mode(s.color_mode)
        ui.view_tabs.setCurrentIndex(int(settings.value("image/viewTab", 0) or 0))
        ui.target_kind.setCurrentIndex(int(settings.value("image/targetKind", 0) or 0))
        ui.target_value.setValue(float(settings.value("image/targetValue", 99.0) or 99.0))
        last = settings.value("image/lastFile", "")
        if s.image is None and last and Path(str(last)).is_file():
            self._open_when_shown(str(last))

    def _open_when_shown(self, path: str) -> None:
        """Open ``path`` now if the tab is on show, else when it is first shown."""
        if self.isVisible():
            self._pending_open = None
            self.open_file(path)
        else:
            self._pending_open = path

    def pending_file(self) -> str | None:
        """The file that will open when the tab is first shown (None: nothing waits)."""
        return self._pending_open

    def showEvent(self, ev: QtGui.QShowEvent) -> None:
        super().showEvent(ev)
        path, self._pending_open = self._pending_open, None
        if path and self.session.image is None:
            # After the show: the window paints first, then the decomposition starts.
            # A file the user opened meanwhile wins, even while it is still being decoded
            # (the session has no image yet then).
            opens = self._opens
            QtCore.QTimer.singleShot(
                0,
                lambda: (
                    opens == self._opens and self.session.image is None and self.open_file(path)
                ),
            )

    # ================================================================== opening
    def open_dialog(self) -> None:
        path = file_dialogs.ask_open_path(self, "Open image", self.file_filter())
        if path:
            self.open_file(path)

    def _on_sample(self, index: int) -> None:
        fname = self.ui.sample_combo.itemData(index)
        self.ui.sample_combo.setCurrentIndex(0)
        if fname:
            self.open_file(str(resource_path("images", fname)))

    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:
        for url in ev.mimeData().urls():
            if url.isLocalFile():
                ev.acceptProposedAction()
                self.open_file(url.toLocalFile())
                return

    def open_file(self, path: str) -> bool:
        """Open an image (or a factor file); on failure explain and keep the current image.

        The header is read here (size, the safety limit's question); a big image is decoded
        on a worker thread (True then means "opening": ``file_opened`` follows, and a decode
        failure is reported by the main window with the file's name, the current image
        staying on show).
        """
        path = str(Path(path).expanduser())
        self._opens += 1
        self._pending_open = None  # the user's choice wins over the remembered file
        self.runner.cancel("image.decode")  # ... and over a file still being decoded
        if Path(path).suffix.lower() in FACTOR_SUFFIXES:
            return self.open_factor_file(path)
        options: dict[str, object] = {}
        try:
            probe = probe_image(path)
            pixels = probe.pixel_count
        except ImageTooLargeError as exc:
            choice = self._ask_downscale(exc)
            if choice == "cancel":
                self._status(f"Did not open {Path(path).name}: too large.")
                return False
            if choice == "full":
                options = {"accept_large": True}
                pixels = exc.pixel_count
            else:
                options = {"max_pixels": exc.pixel_count, "downscale_to": DOWNSCALE_TO}
                pixels = min(exc.pixel_count, DOWNSCALE_TO)
        except ImageFileError as exc:
            self._error(str(exc))
            return False
        if pixels > DECODE_IN_THREAD_ABOVE:
            self._decode_in_thread(path, options)
            return True
        try:
            img = load_image(path, **options)  # type: ignore[arg-type]
        except (ImageFileError, MemoryError) as exc:
            self._error(str(exc))
            return False
        self._opened(img, path)
        return True

    def _opened(self, img: LoadedImage, path: str) -> None:
        self._set_image(img)
        self.file_opened.emit(str(Path(path).resolve()))

    def _decode_in_thread(self, path: str, options: dict[str, object]) -> None:
        """Decode on the "image.decode" channel (latest wins); the GUI stays responsive."""
        name = Path(path).name
        self._status(f"Decoding {name}…")

        def failed(message: str, _details: str) -> None:
            # The main window reports the failure (runner.failed); the current image stays.
            self._status(f"Did not open {name}: {message}")

        self.runner.submit(
            "image.decode",
            load_image,
            path,
            description=f"Image: decoding {name}",
            in_process=False,
            on_result=lambda img: self._opened(img, path),
            on_error=failed,
            **options,
        )

    def open_factor_file(self, path: str) -> bool:
        """Open a saved factor file: its stored-rank image becomes the reference image."""
        try:
            factors, header = load_factors(path)
        except (ValueError, OSError) as exc:
            self._error(str(exc))
            return False
        ranks = [c.n_components for c in factors.channels]
        pixels = reconstruct_image(
            factors, ranks[0], ranks[1] if len(ranks) == 3 and factors.mode == "ycbcr" else None
        )
        pixels.setflags(write=False)
        note = (
            f"Factor file (stored ranks {', '.join(map(str, ranks))}, mode "
            f"{factors.mode}): the original is not stored, so PSNR and SSIM compare with the "
            "stored image; the relative error is against the original, from the stored "
            "energy (Eckart–Young; the 8-bit rounding of the factors is not in it)."
        )
        img = LoadedImage(
            pixels=pixels,
            path=path,
            source_mode="factors",
            format="SVDZ",
            original_size=(factors.width, factors.height),
            notes=(note,),
        )
        self._set_image(
            img, header_name=str(header.get("source") or Path(path).name), factors=factors
        )
        self.file_opened.emit(str(Path(path).resolve()))
        return True

    def _ask_downscale(self, exc: ImageTooLargeError) -> str:
        """Ask about an image above the safety limit: "downscale", "full" or "cancel".

        The full image is offered only when its estimated memory (the float32 image and the
        SVD's working set) fits in :data:`MEMORY_SHARE` of the memory available now.
        """
        w, h = exc.size
        try:
            color = probe_image(exc.path, accept_large=True).is_color
        except ImageFileError:
            color = True
        need = full_open_bytes(w, h, color)
        free = available_memory()
        offer_full = free is not None and need <= MEMORY_SHARE * free
        gib = 2**30
        if free is None:
            memory = (
                f"Opening it in full would need about {need / gib:.1f} GiB; the free memory "
                "of this machine is unknown, so only a downscaled copy is offered."
            )
        elif offer_full:
            memory = (
                f"Opening it in full needs about {need / gib:.1f} GiB (float32 pixels and the "
                f"SVD's working set); {free / gib:.1f} GiB are available."
            )
        else:
            memory = (
                f"Opening it in full would need about {need / gib:.1f} GiB (float32 pixels and "
                f"the SVD's working set), more than the {free / gib:.1f} GiB available."
            )
        text = (
            f"{Path(exc.path).name} is {w:,}×{h:,} = {exc.pixel_count:,} pixels, above the "
            f"safety limit of {exc.limit:,} pixels (it could be a decompression bomb).\n\n"
            f"Open a downscaled copy (about {DOWNSCALE_TO // 1_000_000} megapixels) instead?"
            f"\n\n{memory}"
        )
        return ask_large_image(self, text, offer_full)

    def _tell_view_pixels(self, *_args: object) -> None:
        """Tell the session each compare pane's size in device pixels (high-DPI aware)."""
        sizes = []
        for pane in (self.ui.original_pane, self.ui.recon_pane, self.ui.error_pane):
            dpr = pane.graphics.devicePixelRatioF()
            sizes.append((pane.view.width() * dpr, pane.view.height() * dpr))
        self.session.set_view_pixels(sizes)

    def _set_image(
        self, img: LoadedImage, header_name: str = "", factors: ImageFactors | None = None
    ) -> None:
        self._tell_view_pixels()
        self.session.set_image(img, header_name, factors=factors)
        self.document_changed.emit(self.session.name, False)
        h, w = img.pixels.shape[:2]
        self._status(f"Opened {self.session.name} ({w}×{h}).")

    # ================================================================== messages
    def _status(self, text: str) -> None:
        self.status_message.emit(text)

    def _error(self, text: str) -> None:
        self._status(text)
        QtWidgets.QMessageBox.warning(self, "Image", text)


def _preview() -> int:
    """Show the tab alone: ``python -m svdstudio.ui.image.tab [IMAGE]``."""
    import sys

    from svdstudio.ui.widgets.preview import preview_tab

    return preview_tab(ImageTab, path=sys.argv[1] if len(sys.argv) > 1 else None)


if __name__ == "__main__":
    raise SystemExit(_preview())
