"""Read any image Pillow understands into a float32 array; write PNGs atomically.

Pixel convention (used by the whole Image lab): ``pixels`` is float32, shape H×W (grayscale)
or H×W×3 (RGB), values in **[0, 255]** (8-bit scale, so PSNR uses peak 255).  Other inputs
are mapped onto that scale and a note says how (16-bit ÷ 257, floats from [0, 1], …).

Safety: Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) is respected and never
changed.  A file above it raises :class:`ImageTooLargeError` with the pixel count; the caller
may then re-open it explicitly with ``max_pixels=<that count>`` and ``downscale_to=<pixels>``
(JPEG decodes straight at 1/2, 1/4 or 1/8 scale via ``Image.draft``; other formats decode and
are reduced by an integer factor), or at full size with ``accept_large=True`` once the user
accepted that very file (the limit stays in force for every other file).
:func:`probe_image` reads only the header (size, format) and applies the same checks, so a
caller can ask before decoding.  Truncated files are never loaded partially.
"""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from svdstudio.io.atomic import atomic_write_bytes
from svdstudio.io.safety import InputFileError, open_regular_file
from svdstudio.io.shared_arrays import MIN_SHARED_ARRAY_BYTES, is_shared, shared_copy, shared_empty

__all__ = [
    "IMAGE_FILE_FILTER",
    "ImageFileError",
    "ImageTooLargeError",
    "LoadedImage",
    "encode_jpeg",
    "encode_png",
    "jpeg_round_trip",
    "load_image",
    "probe_image",
    "save_png",
    "to_uint8",
]

IMAGE_FILE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm *.pgm *.pbm *.tga)"
)

# Errors a Pillow decoder raises on a damaged file (zlib/struct for PNG, EOF for GIF/TIFF).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)


class ImageFileError(ValueError):
    """The file cannot be read as an image; the message names the file and the problem."""


class ImageTooLargeError(ImageFileError):
    """The image has more pixels than the safety limit (a possible decompression bomb).

    ``pixel_count`` and ``limit`` are plain ints; ``size`` is (width, height).  Re-open with
    ``load_image(path, max_pixels=err.pixel_count, downscale_to=...)`` once the user agrees.
    """

    def __init__(self, path: str, size: tuple[int, int], limit: int) -> None:
        self.path = path
        self.size = size
        self.pixel_count = int(size[0]) * int(size[1])
        self.limit = int(limit)
        super().__init__(
            f"{path}: the image is {size[0]}×{size[1]} = {self.pixel_count:,} pixels, above the "
            f"safety limit of {self.limit:,} pixels (it could be a decompression bomb); "
            "open a downscaled copy instead if you trust the file"
        )


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An image ready for the SVD: float32 pixels in [0, 255] plus what happened on the way.

    ``pixels``: read-only float32 array, H×W (grayscale) or H×W×3 (RGB), range [0, 255].
    ``source_mode``: the Pillow mode stored in the file (e.g. "P", "I;16", "CMYK").
    ``original_size``: (width, height) stored in the file, before EXIF rotation or downscaling.
    ``notes``: plain sentences about conversions (alpha composited, first frame only, …).
    """

    pixels: np.ndarray
    path: str
    source_mode: str
    format: str | None
    original_size: tuple[int, int]
    notes: tuple[str, ...] = ()
    frame_count: int = 1

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def _open_unchecked(path: str) -> Image.Image:
    """Open a file's header without Pillow's bomb check (only after the caller accepted it).

    Mirrors ``Image.open``'s plugin loop; no pixel data is decoded here.
    """
    Image.preinit()
    Image.init()
    with open(path, "rb") as fp:
        prefix = fp.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        try:
            ok = not accept or accept(prefix)
            if ok and not isinstance(ok, str):
                # Given a path, the plugin opens (and later closes) its own file handle.
                return factory(path, path)  # type: ignore[arg-type]  # plugins take a path
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue
    raise ImageFileError(f"{path}: not an image file Pillow can read")


def _open(path: str, max_pixels: int | None, accept_large: bool = False) -> Image.Image:
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between 1× and 2× its limit; treat that as too large too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        im = _open_unchecked(path)
        if accept_large and (max_pixels is None or im.width * im.height <= max_pixels):
            return im  # the user accepted this file above the limit
        if max_pixels is None or im.width * im.height > max_pixels:
            size = im.size
            im.close()
            raise ImageTooLargeError(path, size, limit or 0) from None
        return im
    except UnidentifiedImageError:
        raise ImageFileError(
            f"{path}: not an image file Pillow can read (unknown or damaged format)"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ImageFileError(f"{path}: cannot read the image header ({exc})") from None
    if max_pixels is not None and im.width * im.height > max_pixels:
        size = im.size
        im.close()
        raise ImageTooLargeError(path, size, max_pixels)
    return im


def _check_finite(im: Image.Image, path: str) -> None:
    """Float images (TIFF mode F) may hold NaN or inf: name the first such pixel and refuse."""
    if im.mode != "F":
        return
    arr = np.asarray(im)
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    y, x = (int(i) for i in np.argwhere(bad)[0])
    value = float(arr[y, x])
    what = "NaN" if math.isnan(value) else ("+inf" if value > 0 else "-inf")
    more = int(bad.sum()) - 1
    others = f" ({more:,} more pixels are not finite either)" if more else ""
    raise ImageFileError(
        f"{path}: pixel x={x + 1}, y={y + 1} (column {x + 1}, row {y + 1}, from the top left) "
        f"holds {what}{others}; an image must hold finite numbers only"
    )


def _background_gray(bg: tuple[int, int, int]) -> float:
    return 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]


def _composite(rgba: np.ndarray, bg: tuple[int, int, int]) -> np.ndarray:
    """Alpha-composite straight (non-premultiplied) RGBA/LA over a solid background."""
    alpha = rgba[..., -1:] / 255.0
    colour = rgba[..., :-1]
    back = np.asarray(bg if colour.shape[-1] == 3 else (_background_gray(bg),), np.float32)
    return (colour * alpha + back * (1.0 - alpha)).astype(np.float32)


def _scale_wide(arr: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    """Map 16/32-bit integer or float samples onto [0, 255] without clipping."""
    # float32 once, never float64: a 100-MP 16-bit scan would otherwise need 800 MB here.
    a = arr.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    if mode.startswith("I;16"):
        notes.append("16-bit samples scaled to 0–255 (÷ 257), not clipped.")
        return (a / 257.0).astype(np.float32)
    if mode == "F" and lo >= 0.0 and hi <= 1.0:
        notes.append("Floating-point samples in [0, 1] scaled to 0–255.")
        return (a * 255.0).astype(np.float32)
    if lo >= 0.0 and hi <= 255.0:
        return a.astype(np.float32)
    if mode == "I" and lo >= 0.0 and hi <= 65535.0:
        notes.append("16-bit samples scaled to 0–255 (÷ 257), not clipped.")
        return (a / 257.0).astype(np.float32)
    span = hi - lo
    notes.append(f"Samples in [{lo:g}, {hi:g}] stretched linearly to 0–255.")
    if span == 0:
        return np.zeros_like(a, dtype=np.float32)
    return ((a - lo) * (255.0 / span)).astype(np.float32)


# Bytes of a band of rows copied out of Pillow at a time by :func:`_float32_pixels`.
_BAND_BYTES = 1 << 19


def _float32_pixels(im: Image.Image) -> np.ndarray:
    """An "L" or "RGB" image's pixels as float32, in shared memory (see io.shared_arrays).

    A band of rows at a time: ``np.asarray(im)`` goes through one ``tobytes()`` of the whole
    image, which held the GIL for 30-50 ms at a time (12 MP, busy machine) and so stalled the
    window while a photo was opened; a band of half a megabyte holds it for a few ms.
    """
    w, h = im.size
    shape: tuple[int, ...] = (h, w) if im.mode == "L" else (h, w, 3)
    out = shared_empty(shape, np.float32)
    row_bytes = max(1, w * (1 if im.mode == "L" else 3))
    rows = max(1, _BAND_BYTES // row_bytes)
    for y in range(0, h, rows):
        y1 = min(h, y + rows)
        band = np.frombuffer(im.crop((0, y, w, y1)).tobytes(), dtype=np.uint8)
        np.copyto(out[y:y1], band.reshape((y1 - y, *shape[1:])), casting="unsafe")
    return out


def _to_pixels(im: Image.Image, bg: tuple[int, int, int], notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        return _float32_pixels(im.convert("L"))
    if mode == "L":
        return _float32_pixels(im)
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _scale_wide(np.asarray(im), mode, notes)
    if mode == "P":
        has_alpha = "transparency" in im.info or (
            im.palette is not None and im.palette.mode == "RGBA"
        )
        conv = im.convert("RGBA" if has_alpha else "RGB")
        arr = np.asarray(conv, dtype=np.float32)
        if has_alpha:
            arr = _composite(arr, bg)
            notes.append(f"Transparent palette entries composited on RGB{tuple(bg)}.")
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]):
            return np.ascontiguousarray(arr[..., 0])
        return arr
    if mode in ("LA", "La"):
        arr = np.asarray(im.convert("LA"), dtype=np.float32)
        notes.append(f"Alpha channel composited on RGB{tuple(bg)}.")
        if bg[0] == bg[1] == bg[2]:
            return _composite(arr, bg)[..., 0]
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        return _composite(rgba, bg)
    if mode in ("RGBA", "RGBa", "PA"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        notes.append(f"Alpha channel composited on RGB{tuple(bg)}.")
        return _composite(rgba, bg)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB without a colour profile.")
    elif mode != "RGB":
        notes.append(f"{mode} converted to RGB.")
    # An RGB image goes to float32 directly (convert() would first copy all its bytes), and
    # into shared memory: every worker job of the image then gets it without a copy.
    return _float32_pixels(im if mode == "RGB" else im.convert("RGB"))


@dataclass(frozen=True)
class ImageProbe:
    """What an image file's header says: ``size`` = (width, height), ``format``, ``mode``."""

    path: str
    size: tuple[int, int]
    format: str | None
    mode: str

    @property
    def pixel_count(self) -> int:
        return int(self.size[0]) * int(self.size[1])

    @property
    def is_color(self) -> bool:
        """Whether :func:`load_image` will give H×W×3 pixels (a guess from the mode)."""
        return self.mode not in ("1", "L", "LA", "La", "I", "F") and not self.mode.startswith("I;")


def probe_image(path: str | os.PathLike[str], *, accept_large: bool = False) -> ImageProbe:
    """Read only the header of ``path``, with :func:`load_image`'s checks (no pixel decoded).

    Raises :class:`ImageTooLargeError` above the decompression-bomb limit unless
    ``accept_large``, and :class:`ImageFileError` for a file that is not a readable image.
    """
    spath = str(path)
    try:
        open_regular_file(Path(spath), spath).close()
    except InputFileError as exc:
        raise ImageFileError(str(exc)) from None
    im = _open(spath, None, accept_large)
    try:
        return ImageProbe(spath, (int(im.width), int(im.height)), im.format, im.mode)
    finally:
        im.close()


def load_image(
    path: str | os.PathLike[str],
    *,
    background: tuple[int, int, int] = (255, 255, 255),
    max_pixels: int | None = None,
    downscale_to: int | None = None,
    accept_large: bool = False,
) -> LoadedImage:
    """Load ``path`` as float32 pixels in [0, 255] (see the module docstring).

    ``background``: colour that transparent pixels are composited on.
    ``max_pixels``: the largest image to accept; None means Pillow's ``MAX_IMAGE_PIXELS``.
    Passing a larger value is how a caller accepts a file the user confirmed.
    ``downscale_to``: if given, the result has at most about this many pixels (integer
    reduction; JPEG decodes directly at reduced scale).
    ``accept_large``: the user accepted *this* file above the decompression-bomb limit: it
    is decoded at full size (``max_pixels``, if given, still caps it).  Pillow's global
    limit is not changed.
    Raises :class:`ImageFileError` (a ValueError) naming the file on any failure.
    """
    spath = str(path)
    p = Path(spath)
    try:
        # Pipes, devices, folders and link loops are refused before Pillow opens anything.
        open_regular_file(p, spath).close()
    except InputFileError as exc:
        raise ImageFileError(str(exc)) from None
    notes: list[str] = []
    src = _open(spath, max_pixels, accept_large)
    im = src
    try:
        original_size = (int(im.width), int(im.height))
        fmt = im.format
        source_mode = im.mode
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frames > 1:
            notes.append(f"Animated or multi-page file: showing frame 1 of {frames}.")
        factor = 1
        if downscale_to is not None and im.width * im.height > downscale_to:
            factor = math.ceil(math.sqrt(im.width * im.height / max(int(downscale_to or 1), 1)))
            if fmt == "JPEG":
                im.draft(im.mode, (max(1, im.width // factor), max(1, im.height // factor)))
        try:
            with warnings.catch_warnings():
                # Accepted: a frame of the accepted size may warn (1–2× the limit); a frame
                # beyond twice the limit still stops Pillow (DecompressionBombError).
                if accept_large:
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                else:
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                im.load()
                _check_finite(im, spath)
                if factor > 1:
                    # draft() may already have reduced a JPEG; reduce the rest exactly.
                    rest = math.ceil(
                        math.sqrt(im.width * im.height / max(int(downscale_to or 1), 1))
                    )
                    if rest > 1:
                        im = im.reduce(rest)
                    notes.append(
                        f"Downscaled from {original_size[0]}×{original_size[1]} to "
                        f"{im.width}×{im.height} pixels."
                    )
                try:
                    im = ImageOps.exif_transpose(im)
                except _DECODE_ERRORS:
                    notes.append("EXIF orientation could not be read and was ignored.")
                rgb = (int(background[0]), int(background[1]), int(background[2]))
                pixels = _to_pixels(im, rgb, notes)
        except ImageFileError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            if not accept_large:
                raise ImageTooLargeError(
                    spath, original_size, Image.MAX_IMAGE_PIXELS or 0
                ) from None
            raise ImageFileError(
                f"{spath}: Pillow's {im.format or 'image'} decoder refuses frames of more than "
                f"twice its safety limit ({2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels), even "
                "accepted; open a downscaled copy instead"
            ) from None
        except MemoryError:
            raise ImageFileError(f"{spath}: not enough memory to decode this image") from None
        except _DECODE_ERRORS as exc:
            raise ImageFileError(
                f"{spath}: the image data is truncated or corrupt ({exc})"
            ) from None
    finally:
        if im is not src:
            im.close()
        src.close()
    if not is_shared(pixels):
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        if pixels.nbytes >= MIN_SHARED_ARRAY_BYTES:  # the rarer modes: one copy saves one a job
            pixels = shared_copy(pixels)
    pixels.setflags(write=False)
    return LoadedImage(
        pixels=pixels,
        path=spath,
        source_mode=source_mode,
        format=fmt,
        original_size=original_size,
        notes=tuple(notes),
        frame_count=frames,
    )


# Rows of an image rounded at a time by :func:`to_uint8` (about 4 M samples: a few MB of
# scratch instead of two full-size float copies, 290 MB at 12 MP in float32).
_UINT8_BAND_SAMPLES = 1 << 22


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Round and clip [0, 255] float pixels to uint8 (uint8 pixels are returned as they are).

    A band of rows at a time, so the scratch memory stays a few MB whatever the image size.
    """
    a = np.asarray(pixels)
    if a.dtype == np.uint8:
        return a
    if a.ndim < 2:
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    out = np.empty(a.shape, dtype=np.uint8)
    rows = max(1, _UINT8_BAND_SAMPLES // max(1, a[0].size))
    for r in range(0, a.shape[0], rows):
        band = np.rint(a[r : r + rows])
        np.clip(band, 0, 255, out=band)
        out[r : r + rows] = band
    return out


def _pil(pixels: np.ndarray) -> Image.Image:
    arr = to_uint8(pixels)
    return Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB")


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of [0, 255] pixels (8-bit, default zlib level)."""
    buf = io.BytesIO()
    _pil(pixels).save(buf, format="PNG")
    return buf.getvalue()


def encode_jpeg(pixels: np.ndarray, quality: int = 75) -> bytes:
    """Baseline JPEG bytes at ``quality`` (Pillow defaults: 4:2:0 chroma subsampling)."""
    buf = io.BytesIO()
    _pil(pixels).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg_round_trip(pixels: np.ndarray, quality: int) -> tuple[int, np.ndarray]:
    """(bytes, decoded float32 pixels) of the image saved as JPEG at ``quality``."""
    data = encode_jpeg(pixels, quality)
    with Image.open(io.BytesIO(data)) as im:
        decoded = np.asarray(im, dtype=np.float32)
    return len(data), decoded


def save_png(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Save [0, 255] pixels as an 8-bit PNG, atomically (an existing file survives failure)."""
    atomic_write_bytes(path, encode_png(pixels))
