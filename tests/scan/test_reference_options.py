"""Options on the bundled reference target keep its defaults: its corpus index and attacks."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from regurgitate.errors import ConfigError
from regurgitate.scan.setup import REFERENCE_ATTACKS, ScanRequest, prepare_scan


def test_reference_with_options_keeps_index_and_attacks(cache_dir, tmp_path):
    plain = prepare_scan(ScanRequest(run=tmp_path / "a.db", cache_dir=cache_dir))
    tuned = prepare_scan(ScanRequest(target="reference?dtype=float32&batch_size=4",
                                     run=tmp_path / "b.db", cache_dir=cache_dir))
    assert tuned.spec.attacks == plain.spec.attacks == tuple(REFERENCE_ATTACKS.split(","))
    assert tuned.spec.index == plain.spec.index is not None
    assert tuned.spec.settings["options"] == plain.spec.settings["options"]
    assert tuned.target.batch_size == 4 and tuned.target.runtime()["dtype"] == "float32"


def test_reference_with_a_location_is_a_clear_error(cache_dir, tmp_path):
    with pytest.raises(ConfigError, match="takes no location"):
        prepare_scan(ScanRequest(target="reference:/some/dir", run=tmp_path / "c.db",
                                 cache_dir=cache_dir))
