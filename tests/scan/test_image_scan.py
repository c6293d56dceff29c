"""`regurgitate scan --target reference-image`: the bundled diffusion model against its own
training images. Verdicts are checked against the manifest of planted and held-out images, and a
scan killed with SIGKILL resumes with nothing lost or repeated."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from regurgitate.cli.main import main
from regurgitate.findings.images import ImageCopy
from regurgitate.images.distance import tiled_l2
from regurgitate.images.imageio import decode, sha256
from regurgitate.reference.image.dataset import load_image_set
from regurgitate.reference.image.paths import images_dir
from regurgitate.reports.image_data import summarize_images
from regurgitate.store import RunStore
from tests.run_db import ok_generations, start_scan, wait_for_generations

PER_CAPTION = 12
STEPS = 20


def scan_args(db: Path, *extra: str) -> list[str]:
    # one torch thread: the test machine's cores are shared with other jobs
    return ["scan", "--target", "reference-image?threads=1", "--run", str(db),
            "--set", f"carlini.per_caption={PER_CAPTION}", "--set", f"carlini.steps={STEPS}",
            *extra]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image-scan")
    mp = pytest.MonkeyPatch()
    mp.setenv("REGURGITATE_CACHE", str(out / "cache"))
    mp.chdir(out)
    try:
        main(scan_args(out / "run.db", "--html", str(out / "report.html")))
    except SystemExit as exc:
        assert not exc.code
    finally:
        mp.undo()
    return out


def test_planted_images_come_back_by_duplication(image_run: Path) -> None:
    with RunStore.open(image_run / "run.db", create=False) as store:
        s = summarize_images(store)
    assert s.generations == 8 * PER_CAPTION and s.failed == 0
    rate = {r.count: r.rate for r in s.by_dup}
    assert rate[100] > rate[10] and rate[100] > rate[1]
    assert rate[100] >= 0.5
    assert s.heldout_matched == 0 and rate[0] == 0.0


def test_distances_agree_with_brute_force_on_the_training_set(image_run: Path) -> None:
    images = load_image_set(images_dir())
    with RunStore.open(image_run / "run.db", create=False) as store:
        items = {it.generation_id: it for it in store.generations()}
        copies = [(f.generation_id, f.payload_as(ImageCopy))
                  for f in store.findings(kind="image_copy")]
    assert len(copies) == len(items)
    gens = np.stack([decode(items[g].generation.image or b"") for g, _ in copies])
    brute = tiled_l2(gens, images.pixels, 4)
    ids = [r.id for r in images.records]
    col = {train_id: j for j, train_id in enumerate(ids)}
    for row, (gid, pay) in enumerate(copies):
        assert pay is not None
        assert pay.image_sha256 == sha256(items[gid].generation.image or b"")
        for near in (*pay.matches, *pay.nearest):  # every reported distance is exact
            assert near.distance == pytest.approx(float(brute[row, col[near.train_id]]),
                                                  abs=1e-4)
        # every training image within the threshold is found, and nothing else
        want = {ids[j] for j in np.flatnonzero(brute[row] <= 0.15)}
        assert {m.train_id for m in pay.matches} == want
        assert all(m.split == "train" for m in pay.matches)
        if want:
            assert pay.distance == pytest.approx(float(brute[row].min()), abs=1e-4)
        else:  # beyond the threshold the nearest is searched approximately
            assert pay.distance >= float(brute[row].min()) - 1e-4


def test_report_is_self_contained(image_run: Path) -> None:
    html = (image_run / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert "Extraction by duplication count" in html
    # the text report's header, cards and stylesheet
    from regurgitate.reports import text_html as text_report

    css = (Path(text_report.__file__).parent / "templates" / "report.css").read_text()
    assert '<dl class="meta">' in html and "Training-image index" in html
    assert '<div class="cards">' in html and css.strip()[:200] in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


# ------------------------------------------------------------------------- kill -9, resume

def _start(db: Path, cache: Path) -> subprocess.Popen[str]:
    return start_scan(scan_args(db, "--batch-size", "8", "--no-html"), cache, cwd=db.parent)


@pytest.mark.slow  # two scan subprocesses: ~40 s on two free cores
def test_sigkill_then_rerun_loses_and_repeats_nothing(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    cache = tmp_path / "cache"
    proc = _start(db, cache)
    wait_for_generations(db, 16, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    kept = ok_generations(db)
    assert 16 <= kept < 8 * PER_CAPTION
    with RunStore.open(db, create=False) as store:
        before = {it.prompt.id: it.generation.image for it in store.generations()}
    rerun = _start(db, cache)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    with RunStore.open(db, create=False) as store:
        assert store.pending_prompts() == []
        items = list(store.generations(ok_only=False))
        assert len(items) == len({it.prompt.id for it in items}) == 8 * PER_CAPTION
        assert all(it.generation.ok and it.generation.image for it in items)
        for it in items:  # what was finished before the kill is kept as it was
            if it.prompt.id in before:
                assert it.generation.image == before[it.prompt.id]
        assert store.undetected("image_copy") == [] and store.undetected("image_clique") == []
        copies = [f.generation_id for f in store.findings(kind="image_copy")]
        assert sorted(copies) == sorted(it.generation_id for it in items)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT max(attempts) FROM generations").fetchone()[0] == 1
