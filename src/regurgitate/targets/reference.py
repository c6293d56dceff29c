"""The ``reference`` target: the bundled tiny reference model, run by the HF backend, with
the defaults a scan of it uses (its own corpus as the index, attacks tuned to it) declared by
the same class hooks as the image references."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from regurgitate.errors import ConfigError, RegurgitateError
from regurgitate.targets.hf import HFTarget


class ReferenceTarget(HFTarget):
    """``reference?batch_size=4``: the HF target over the bundled reference model (its
    options are the ``hf:`` ones)."""

    needs_location: ClassVar[bool] = False
    default_attacks: ClassVar[tuple[str, ...]] = (
        "discoverable", "divergence", "corpus-prompts", "sample-rank")

    @classmethod
    def from_spec(cls, location: str, options: Mapping[str, Any]) -> HFTarget:
        from regurgitate import reference

        if location:
            raise ConfigError(f"the reference target takes no location, got {location!r}",
                              hint="write reference or reference?OPTION=VALUE; for another "
                              "model use hf:DIR")
        # a chat model: prompts with messages go through its chat template unless chat=0
        return cls(str(reference.model_dir()), **{"chat": True, **options})

    @classmethod
    def default_index(cls, location: str, cache: Path,
                      note: Callable[[str], None]) -> Path | None:
        """The bundled reference corpus, indexed once and cached."""
        return reference_index(cache, note)

    @classmethod
    def attack_options(cls, location: str) -> dict[str, dict[str, Any]]:
        """Attack settings tuned to the reference model: probe every planted item."""
        from regurgitate import reference

        manifest = reference.load_manifest()
        passages = tuple((item.id, item.text) for item in manifest.items)
        return {
            "discoverable": {"passages": passages, "prefix_tokens": 32, "suffix_tokens": 50,
                             "extra_tokens": 14},
            # the paper's protocol (chat prompts, repetition penalty, outputs to the end of the
            # context, same-run baseline) on four of its words, one sample each; naming the
            # preset (--set divergence.preset=nasr2023) runs its own words and samples
            "divergence": {"preset": "nasr2023", "words": ("the", "word", "one", "time"),
                           "samples": 1},
            "corpus-prompts": {"num_prompts": 16, "max_new_tokens": 128},
            "sample-rank": {"num_samples": 16, "max_new_tokens": 128},
        }


def reference_index(cache: Path, note: Callable[[str], None]) -> Path:
    """The index of the bundled reference corpus, built once and cached by content hash."""
    from regurgitate import reference
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index
    from regurgitate.index.open import open_local

    tok = load_tokenizer(reference.model_dir())
    digest = hashlib.sha256(reference.corpus_path().read_bytes()).hexdigest()[:12]
    path = cache / f"reference-index-{digest}-{tok.fingerprint.split(':')[-1][:8]}"
    if (path / "manifest.json").is_file():
        try:
            open_local(path)
            return path
        except RegurgitateError:  # a damaged cache is rebuilt, never trusted
            note(f"cached reference index at {path} is damaged; rebuilding it")
    note(f"indexing the bundled reference corpus into {path} (first run only)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        import shutil

        shutil.rmtree(path)
    build_index(reference.iter_corpus(), path, tok)
    return path
