"""classify_path: which tab opens a file, by extension and (for text tables) by sniffing."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.io.filetypes import (
    DATASET,
    FACTORS,
    IMAGE,
    LABEL_COLUMN_NAMES,
    MATRIX,
    classify_path,
    classify_table_text,
    supported_extensions,
)
from svdstudio.resources import resource_path


@pytest.mark.parametrize(
    "name",
    ["a.png", "b.JPG", "c.jpeg", "d.tif", "e.TIFF", "f.bmp", "g.gif", "h.webp", "i.pgm", "j.TGA"],
)
def test_images_by_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not decoded here")
    assert classify_path(path) == IMAGE


def test_npy_is_matrix(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.eye(3))
    assert classify_path(str(path)) == MATRIX


@pytest.mark.parametrize("name", ["f.npz", "g.SVDZ"])
def test_factors(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"PK")
    assert classify_path(path) == FACTORS


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("plain.csv", "1,2,3\n4,5,6\n", MATRIX),
        ("header.csv", "a,b,c\n1,2,3\n4,5,6\n", MATRIX),
        ("article.txt", "3 2 2\n2 3 -2\n", MATRIX),
        ("sci.tsv", "1e-3\t-2.5E+2\n.5\t7\n", MATRIX),
        ("bom_crlf.csv", "\ufeffx,y\r\n1,2\r\n3,4\r\n", MATRIX),
        ("decimal_comma.csv", "1,5;2,25\n3,0;4,75\n", MATRIX),
        ("iris.csv", "sepal,petal,species\n5.1,1.4,setosa\n6.2,4.5,versicolor\n", DATASET),
        ("label_first.tsv", "label\tx\ty\ncat\t1\t2\ndog\t3\t4\n", DATASET),
        ("semicolon.csv", "x;y;class\n1,5;2;a\n3;4;b\n", DATASET),
        ("missing.csv", "x,y,class\n1,,a\n3,4,b\n", DATASET),
        # a numeric column named as the class (the bundled Digits table)
        ("digits.csv", "p0,p1,digit\n0,3.5,7\n1,2,0\n", DATASET),
        ("target.tsv", "Target\ta\n1\t0.5\n2\t0.25\n", DATASET),
        ("fractional.csv", "a,b,class\n1,2,0.5\n3,4,1.5\n", MATRIX),
        ("xy.csv", "x,y\n1,2\n3,4\n", MATRIX),
        # no header: the matrix reader names the stray cell, so it goes to the matrix tab
        ("typo.csv", "1,2,3\n4,x,6\n", MATRIX),
        ("comment.csv", "# exported\na,b\n1,2\n", MATRIX),
    ],
)
def test_tables_are_sniffed(tmp_path, name, text, kind):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    assert classify_path(path) == kind


def test_one_stray_text_cell_under_a_header_stays_a_matrix():
    text = "a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(10)) + "5,oops\n"
    assert classify_table_text(text) == MATRIX


def test_truncated_last_line_is_ignored():
    assert classify_table_text("a,b,c\n1,2,x\n3,4,y\n5,6", truncated=True) == DATASET


def test_bundled_datasets_are_datasets():
    folder = resource_path("datasets")
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        pytest.skip("no bundled datasets in resources/datasets yet")
    assert {f.name: classify_path(f) for f in files} == {f.name: DATASET for f in files}


def test_unknown_extension_message(tmp_path):
    path = tmp_path / "report.docx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"report\.docx: SVD Studio cannot open '\.docx' files"):
        classify_path(path)
    with pytest.raises(ValueError, match=r"\.png") as info:
        classify_path(tmp_path / "README")
    assert "files without an extension" in str(info.value)


def test_empty_table_and_folder(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match=r"empty\.csv: the file is empty"):
        classify_path(empty)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        classify_path(folder)


def test_missing_file_is_named(tmp_path):
    # A ValueError naming the file (the app shows it as it is), for tables and images alike.
    for name in ("gone.csv", "gone.png", "gone.npy"):
        with pytest.raises(ValueError, match=rf"{name}: no such file$"):
            classify_path(tmp_path / name)


def test_latin1_table(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("caf\xe9,x\nna\xefve,1\nbr\xfbl\xe9e,2\n".encode("latin-1"))
    assert classify_path(path) == DATASET


def test_supported_extensions_sorted_and_complete():
    exts = supported_extensions()
    assert list(exts) == sorted(exts)
    assert {".png", ".csv", ".npy", ".npz"} <= set(exts)


def test_label_names_agree_with_the_dataset_reader():
    from svdstudio.io import datasets

    assert set(datasets._LABEL_NAMES) >= LABEL_COLUMN_NAMES
