"""The conformance suite over every registered component (built-ins and whatever else is
installed): the same checks ``regurgitate plugins --check`` runs for a plugin author."""

from __future__ import annotations

from pathlib import Path

import pytest

from regurgitate.scan.conformance import Case, cases, check


@pytest.mark.parametrize("case", cases(), ids=str)
def test_component_conforms(case: Case, tmp_path: Path) -> None:
    assert check(case, tmp_path) == []


def test_every_kind_of_component_is_checked() -> None:
    kinds = {c.kind for c in cases()}
    assert kinds == {"target", "attack", "detector", "finding kind"}
