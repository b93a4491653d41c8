"""The Image tab's entry in the tab registry."""

from __future__ import annotations

from svdstudio.ui.tab_contract import TabSpec


def _build(runner):
    from svdstudio.ui.image.tab import ImageTab

    return ImageTab(runner)


TAB_SPEC = TabSpec(
    kind="image",
    title="Image",
    opens=frozenset({"image", "factors"}),
    factory=_build,
    file_filter=(
        "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm *.pgm *.pbm *.tga)"
        ";;SVD image factors (*.svdz *.npz)"
    ),
    # scipy.ndimage alone (via the metrics) is about half of building this tab.
    preload=("scipy.ndimage", "PIL.Image", "svdstudio.engine.image", "svdstudio.io.images"),
)
