"""GUI and CLI tell the same story (issue 10 §5): one default chroma rank, one set of names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from svdstudio.cli import main
from svdstudio.engine.image import DEFAULT_CHROMA_RANK, channel_ranks, decompose_image


@pytest.mark.parametrize("k", [2, 8, 20])
def test_cli_compress_uses_the_engine_default_chroma_rank(tmp_path, capsys, k):
    rng = np.random.default_rng(k)
    img = rng.integers(0, 255, (24, 30, 3), dtype=np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(img).save(path)
    assert (
        main(
            [
                "compress",
                str(path),
                "--rank",
                str(k),
                "--mode",
                "ycbcr",
                "--json",
                "-o",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out[0]["chroma_rank"] == DEFAULT_CHROMA_RANK == 8
    factors = decompose_image(img.astype(np.float32), "ycbcr")
    assert channel_ranks(factors, k) == (k, DEFAULT_CHROMA_RANK, DEFAULT_CHROMA_RANK)
