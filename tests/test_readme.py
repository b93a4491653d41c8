"""The README names the article and points only at files a fresh clone has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_link_and_image_is_inside_the_repository():
    targets = re.findall(r"\]\(([^)#\s]+)[^)]*\)", README)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, "expected some links"
    for target in local:
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target
    assert "../" not in README and "/work/" not in README


def test_the_article_is_named():
    assert "Understanding compression of convolutional neural nets, part 1" in README
    assert "Ishwar Sethi" in README and "iksinc.tech" in README and "2023" in README


def test_setup_and_compress_notes():
    assert "python3-venv" in README
    # compress -o: says where the metrics go.
    assert "metrics printed" in README and "--json -o out/ > out/metrics.json" in README
