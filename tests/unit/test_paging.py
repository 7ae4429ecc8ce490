"""The one set of SearchRequest paging bounds (RFC 7644 §3.4.2.4), shared by GET query strings and POST /.search bodies."""

from __future__ import annotations

import pytest

from fluid_scim.messages import clamp_paging, split_names


@pytest.mark.parametrize(
    ("start_index", "count", "maximum", "expected"),
    [
        (None, None, None, (None, None)),
        (None, None, 100, (None, None)),
        (-4, -1, None, (1, 0)),
        (0, 0, 100, (1, 0)),
        (1, 10, 100, (1, 10)),
        (7, 500, 100, (7, 100)),
        (7, 500, None, (7, 500)),
        (3, -2, 100, (3, 0)),
    ],
)
def test_clamp_paging(start_index, count, maximum, expected):
    assert clamp_paging(start_index, count, maximum=maximum) == expected


def test_split_names():
    assert split_names(["a,b", " c ", ",", ""]) == ["a", "b", "c"]
    assert split_names([]) == []
