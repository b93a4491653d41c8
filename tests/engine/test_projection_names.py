"""The one registry of projection methods: every name the GUI or CLI shows finds its method."""

from __future__ import annotations

import numpy as np
import pytest

from svdstudio.engine.projection import (
    METHOD_EXPLANATIONS,
    METHOD_KEYS,
    METHOD_TITLES,
    METHODS,
    ProjectionMethod,
    method_by_name,
    project,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tsvd", "tsvd"),
        ("Truncated SVD (raw data)", "tsvd"),
        ("Truncated SVD", "tsvd"),
        ("truncated svd", "tsvd"),
        ("TRUNCATED-SVD", "tsvd"),
        ("  truncated   svd ", "tsvd"),
        ("TruncatedSVD", "tsvd"),
        ("pca", "pca"),
        ("PCA (centred)", "pca"),
        ("PCA (centered)", "pca"),
        ("PCA", "pca"),
        ("PCA (centered", "pca"),
        ("standardized", "standardized"),
        ("standardised", "standardized"),
        ("std", "standardized"),
        ("Standardised PCA (centred and scaled)", "standardized"),
        ("standardised pca", "standardized"),
        ("Standardized PCA", "standardized"),
        ("standardized pca (centered and scaled)", "standardized"),
        ("STANDARDISED_PCA", "standardized"),
    ],
)
def test_method_by_name_accepts_gui_titles_short_names_and_spellings(text, key):
    m = method_by_name(text)
    assert isinstance(m, ProjectionMethod)
    assert m.key == key


@pytest.mark.parametrize("text", ["", "pcaa", "svd pca", "(centred)", "nmf"])
def test_unknown_name_is_named_with_the_choices(text):
    with pytest.raises(ValueError) as err:
        method_by_name(text)
    msg = str(err.value)
    assert repr(text) in msg
    for m in METHODS:
        assert m.short in msg


def test_registry_is_the_one_source_for_titles_and_explanations():
    assert METHOD_KEYS == ("tsvd", "pca", "standardized")
    assert [m.short for m in METHODS] == ["tsvd", "pca", "std"]
    for m in METHODS:
        assert METHOD_TITLES[m.key] == m.title
        assert METHOD_EXPLANATIONS[m.key] == m.description
        assert m.names[0] == m.title
        assert method_by_name(m) is m
        # A method compares equal to its key, so stored keys still work.
        assert m == m.key and str(m) == m.key and METHOD_TITLES[m] == m.title
    assert METHODS.index("pca") == 1
    # Every accepted name of one method is unique to it.
    seen: dict[str, str] = {}
    for m in METHODS:
        for n in m.names:
            assert method_by_name(n) is m
            assert seen.setdefault(n.casefold(), m.key) == m.key


@pytest.mark.parametrize(("name", "key"), [("Standardised PCA", "standardized"), ("PCA", "pca")])
def test_project_takes_any_name_and_reports_the_key(name, key):
    X = np.array([[1.0, 2.0, 0.5], [2.0, 1.0, 3.0], [4.0, 0.0, 1.0], [0.0, 3.0, 2.0]])
    by_name = project(X, name, 2)
    by_key = project(X, key, 2)
    assert by_name.method == key
    np.testing.assert_allclose(by_name.projection, by_key.projection)
