"""Choosing a scan's components: --detector/--no-detector (requirements resolved, errors
named), attacks that run by default as they declare, target help from the registry."""

from __future__ import annotations

import pytest

from regurgitate.detectors.base import DetectorContext
from regurgitate.errors import ConfigError
from regurgitate.scan.assembly import default_attack_names, default_detectors


def _names(dets: list) -> list[str]:
    return [d.name for d in dets]


def test_detector_brings_what_it_requires() -> None:
    from regurgitate import registry

    requiring = [n for n in registry.detectors().names()
                 if registry.detectors().load(n).requires
                 and registry.detectors().load(n).modality == "text"]
    for name in requiring:
        cls = registry.detectors().load(name)
        try:
            got = _names(default_detectors(DetectorContext(), names=[name]))
        except ConfigError:  # needs an index here: its requirement list is still resolved
            continue
        assert set(cls.requires) <= set(got) and got.index(name) == len(got) - 1


def test_unknown_and_other_modality_detectors_are_named() -> None:
    with pytest.raises(ConfigError, match="--detector pi: unknown detector 'pi'") as exc:
        default_detectors(DetectorContext(), names=["pi"])
    assert "did you mean 'pii'" in (exc.value.hint or "")
    with pytest.raises(ConfigError, match="image_copy.*judges images"):
        default_detectors(DetectorContext(), names=["image_copy"])
    with pytest.raises(ConfigError, match="--no-detector nope"):
        default_detectors(DetectorContext(), exclude=["nope"])


def test_no_detector_leaves_one_out() -> None:
    every = _names(default_detectors(DetectorContext()))
    assert "pii" in every and "divergence" in every
    fewer = _names(default_detectors(DetectorContext(), exclude=["pii"]))
    assert "pii" not in fewer and set(fewer) == set(every) - {"pii"}


def test_a_detector_that_cannot_run_says_what_it_needs() -> None:
    with pytest.raises(ConfigError, match="'verbatim' cannot run") as exc:
        default_detectors(DetectorContext(), names=["verbatim"])
    assert "index" in (exc.value.hint or "")


def test_default_attacks_come_from_the_attacks_declarations() -> None:
    assert default_attack_names("text", has_index=True) == \
        ["divergence", "discoverable", "corpus-prompts"]
    assert default_attack_names("text", has_index=False) == ["divergence"]
    assert default_attack_names("image", has_index=True) == ["carlini"]


def test_target_help_and_completion_come_from_the_registry(run_cli) -> None:
    from regurgitate import registry
    from regurgitate.cli.scan_cmd import _complete_target

    code, out, _ = run_cli(["scan", "--help"])
    assert code == 0
    flat = " ".join(out.split())
    for scheme in registry.targets().names():
        assert scheme in flat
    assert "hf:" in _complete_target("h") and "reference" in _complete_target("ref")
