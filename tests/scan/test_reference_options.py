"""Options on the bundled reference target keep its defaults: its corpus index and attacks."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from regurgitate.errors import ConfigError
from regurgitate.scan.request import ScanRequest
from regurgitate.scan.setup import merge_options, prepare_scan
from regurgitate.targets.reference import ReferenceTarget


def test_reference_with_options_keeps_index_and_attacks(cache_dir, tmp_path):
    plain = prepare_scan(ScanRequest(run=tmp_path / "a.db", cache_dir=cache_dir))
    tuned = prepare_scan(ScanRequest(target="reference?dtype=float32&batch_size=4",
                                     run=tmp_path / "b.db", cache_dir=cache_dir))
    assert tuned.spec.attacks == plain.spec.attacks == ReferenceTarget.default_attacks
    assert tuned.spec.index == plain.spec.index is not None
    assert tuned.spec.settings["options"] == plain.spec.settings["options"]
    assert tuned.target.batch_size == 4 and tuned.target.runtime()["dtype"] == "float32"


def test_reference_with_a_location_is_a_clear_error(cache_dir, tmp_path):
    with pytest.raises(ConfigError, match="takes no location"):
        prepare_scan(ScanRequest(target="reference:/some/dir", run=tmp_path / "c.db",
                                 cache_dir=cache_dir))


def test_a_named_preset_wins_over_the_targets_defaults(cache_dir, tmp_path):
    # the reference narrows divergence to 4 words x 1 sample; naming the preset runs its own
    # 8 words x 3 samples (48 repeat-a-word prompts and 48 baseline prompts)
    from regurgitate.attacks.base import AttackContext
    from regurgitate.attacks.divergence import PRESETS

    narrowed = prepare_scan(ScanRequest(attacks="divergence", run=tmp_path / "n.db",
                                        cache_dir=cache_dir))
    named = prepare_scan(ScanRequest(attacks="divergence", run=tmp_path / "p.db",
                                     cache_dir=cache_dir,
                                     options={"divergence": {"preset": "nasr2023"}}))
    ctx = AttackContext(index=None, chat=True)
    assert len(narrowed.attacks[0].prompts(ctx)) == 4 * 2 * 1 * 2
    preset = PRESETS["nasr2023"]
    assert len(named.attacks[0].prompts(ctx)) == 48 + 48 == (
        len(preset["words"]) * len(preset["repeats"]) * preset["samples"] * 2)
    opts = named.spec.settings["options"]["divergence"]
    assert opts == {"preset": "nasr2023"}
    # the user's explicit options still win over the preset
    both = prepare_scan(ScanRequest(attacks="divergence", run=tmp_path / "b.db",
                                    cache_dir=cache_dir, options={
                                        "divergence": {"preset": "nasr2023", "samples": "1"}}))
    assert len(both.attacks[0].prompts(ctx)) == 8 * 2 * 1 * 2


def test_option_precedence_explicit_then_preset_then_target():
    defaults = {"divergence": {"preset": "nasr2023", "words": ("a",), "samples": 1, "seed": 3},
                "sample-rank": {"num_samples": 16}}
    explicit = {"divergence": {"preset": "nasr2023", "samples": "2"}, "pii": {"x": "1"}}

    def keys(component: str, preset: str) -> frozenset[str]:
        return frozenset({"words", "samples"}) if component == "divergence" else frozenset()

    merged = merge_options(defaults, explicit, keys)
    assert merged == {"divergence": {"preset": "nasr2023", "seed": 3, "samples": "2"},
                      "sample-rank": {"num_samples": 16}, "pii": {"x": "1"}}
    # without a preset named, the target's defaults fill what the user left out
    assert merge_options(defaults, {"divergence": {"samples": "2"}}, keys)["divergence"] == {
        "preset": "nasr2023", "words": ("a",), "samples": "2", "seed": 3}
