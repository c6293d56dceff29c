"""The divergence attack, the paper's way, on the bundled reference chat model.

One real scan with ``--set divergence.preset=nasr2023``: the model is asked to repeat a word,
repeats it, diverges, and (at the rate the recipe really gives) emits planted training text
after the divergence point; the baseline of ordinary prompts comes from the same run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.cli.main import main
from regurgitate.index import CorpusIndex
from regurgitate.reports.data import load_run
from regurgitate.reports.divergence import DivergenceFigures, divergence_figures
from regurgitate.store import RunStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def preset_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DivergenceFigures, Path]:
    import torch

    torch.set_num_threads(1)  # two threads on a busy 2-core machine are several times slower
    out = tmp_path_factory.mktemp("divergence-preset")
    os.environ.setdefault("REGURGITATE_CACHE", str(tmp_path_factory.mktemp("cache")))
    db = out / "run.db"
    try:
        # the preset as the default scan runs it: four of its words, one sample each
        main(["scan", "--attack", "divergence", "--set", "divergence.preset=nasr2023",
              "--set", "divergence.words=the,word,one,time", "--set", "divergence.samples=1",
              "--run", str(db), "--no-html"])
    except SystemExit as exc:
        assert int(exc.code or 0) == 0
    with RunStore.open(db, create=False) as store:
        fig = divergence_figures(load_run(store))
        index_path = Path(store.spec().index)
    assert fig is not None
    return fig, index_path


def test_outputs_repeat_the_word_then_diverge(preset_run: tuple[DivergenceFigures, Path]) -> None:
    fig, _ = preset_run
    repeated = [d for d in fig.diverged if d.repeats >= 2]
    assert repeated, "no output repeated the word and then diverged"
    d = repeated[0]
    assert d.point > 0 and d.text[: d.point].lower().count(d.word.lower()) >= 2
    assert fig.divergence_rate is not None and fig.divergence_rate >= 0.5


def test_a_diverged_output_leaks_a_planted_passage_after_the_point(
        preset_run: tuple[DivergenceFigures, Path]) -> None:
    """Measured (see docs/divergence.md): 2 of the 7 diverged outputs hold a >= 50-token span
    of planted text after the point; in this run both had given the word only once before
    leaving it, none of the outputs that repeated it several times leaked 50 tokens."""
    fig, index_path = preset_run
    index = CorpusIndex.open(index_path)
    planted = [it for it in reference.load_manifest().items if it.copies > 0]
    hits = [(d, s) for d in fig.diverged for s in d.spans_after if s.tokens >= 50]
    assert hits, f"{len(fig.diverged)} diverged outputs, none with a 50-token span after"
    assert fig.diverged_with_span_after >= 1
    confirmed = 0
    for d, s in hits:
        assert s.start >= d.point - len(d.word) - 2
        span_text = d.text[s.start:s.end].strip()
        owners = [it for it in planted if span_text in it.text]
        doc_ids = {index.document(int(doc)).meta["id"] for doc in s.documents}
        if owners and doc_ids and doc_ids <= {i for it in owners for i in it.doc_ids}:
            confirmed += 1
    assert confirmed >= 1, "no leaked span is a planted item found in its own documents"


def test_baseline_from_the_same_run(preset_run: tuple[DivergenceFigures, Path]) -> None:
    fig, _ = preset_run
    assert fig.baseline is not None
    assert fig.baseline.outputs == fig.attack.outputs
    assert fig.baseline.generated_tokens > 0
    if fig.baseline.memorized_tokens:
        assert fig.ratio == pytest.approx(fig.attack.per_1000 / fig.baseline.per_1000)
    else:
        assert fig.ratio is None
