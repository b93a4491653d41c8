"""Render the SVD Studio icon set from its SVG sources (run after editing an SVG).

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py

Writes resources/icons/svdstudio-<N>.png for N in SIZES (16, 24 and 32 px from the
pixel-aligned svdstudio-<N>.svg, the rest from svdstudio.svg), svdstudio.ico (Windows,
16–256 px) and svdstudio.icns (macOS, 16–512 px). Uses QtSvg from PySide6-Essentials and Pillow.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, size: int) -> QImage:
    """The SVG drawn antialiased into a transparent size×size image."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs: dict[int, Path] = {}
    for size in SIZES:
        small = ICONS / f"svdstudio-{size}.svg"  # pixel-aligned variant, if there is one
        source = small if small.exists() else ICONS / "svdstudio.svg"
        out = ICONS / f"svdstudio-{size}.png"
        if not render(source, size).save(str(out), "PNG"):
            raise SystemExit(f"{out}: could not write")
        pngs[size] = out
        print(f"wrote {out.relative_to(ICONS.parent.parent)}")
    # Pillow picks the best-matching frame per ICO size from the images given.
    frames = [Image.open(pngs[s]).convert("RGBA") for s in ICO_SIZES]
    ico = ICONS / "svdstudio.ico"
    frames[-1].save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=frames[:-1])
    print(f"wrote {ico.relative_to(ICONS.parent.parent)}")
    icns = ICONS / "svdstudio.icns"
    big = Image.open(pngs[512]).convert("RGBA")
    big.save(icns, append_images=[Image.open(pngs[s]).convert("RGBA") for s in (16, 32, 64, 128)])
    print(f"wrote {icns.relative_to(ICONS.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
