"""The conformance suite over every installed component, this package's included (run with
pytest after ``pip install -e .``)."""

import pytest

from regurgitate.scan.conformance import cases, check


@pytest.mark.parametrize("case", cases(), ids=str)
def test_conformance(case, tmp_path):
    assert check(case, tmp_path) == []
