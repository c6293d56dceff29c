"""`regurgitate scan --target reference-t2i`: the bundled latent text-to-image pipeline against
its own training images. A small scan finds a planted 100x image and never a held-out one; a
scan stopped midway and resumed ends with the same images as one that ran straight through."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from regurgitate.cli.main import main
from regurgitate.findings.images import ImageCopy
from regurgitate.images.imageio import decode
from regurgitate.reports.image_data import summarize_images
from regurgitate.store import RunStore
from tests.run_db import ok_generations, start_scan, wait_for_generations

PER_CAPTION = 8
PER_COUNT = 2  # captions of each duplicate count: 2 x100, 2 x10, 2 x1, 2 held-out
PER_GROUP = 2  # img2img: 2 images of each duplicate group, at one strength
CARLINI = 4 * PER_COUNT * PER_CAPTION
TOTAL = CARLINI + 4 * PER_GROUP


def scan_args(db: Path, *extra: str, target: str = "reference-t2i?threads=1") -> list[str]:
    return ["scan", "--target", target, "--run", str(db),
            "--set", f"carlini.per_caption={PER_CAPTION}",
            "--set", f"carlini.per_count={PER_COUNT}",
            "--set", f"img2img.per_group={PER_GROUP}", "--set", "img2img.strengths=0.5", *extra]


def _scan(out: Path, db: Path, *extra: str) -> None:
    mp = pytest.MonkeyPatch()
    mp.setenv("REGURGITATE_CACHE", str(out / "cache"))
    mp.chdir(out)
    try:
        main(scan_args(db, *extra))
    except SystemExit as exc:
        assert not exc.code
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def t2i_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("t2i-scan")
    _scan(out, out / "run.db", "--html", str(out / "report.html"))
    return out


def _images(db: Path) -> dict[str, bytes | None]:
    with RunStore.open(db, create=False) as store:
        return {it.prompt.id: it.generation.image for it in store.generations()}


def _same_images(a: dict[str, bytes | None], b: dict[str, bytes | None]) -> None:
    """The same prompts, and each the same image, byte for byte (the target pads every batch
    to its batch size, so a resumed scan's differently cut batches change nothing)."""
    assert sorted(a) == sorted(b)
    for pid, png in a.items():
        x, y = decode(png or b""), decode(b[pid] or b"")
        assert np.array_equal(x, y), pid


def test_a_planted_100x_image_comes_back_and_no_held_out_one(t2i_run: Path) -> None:
    with RunStore.open(t2i_run / "run.db", create=False) as store:
        s = summarize_images(store)
        copies = [f.payload_as(ImageCopy) for f in store.findings(kind="image_copy")]
    assert s.generations == TOTAL and s.failed == 0
    assert s.measured == CARLINI  # img2img outputs are judged against their own source only
    rate = {r.count: r.rate for r in s.by_dup}
    assert rate[100] > 0 and rate[100] >= rate[1]
    assert s.heldout_matched == 0 and rate[0] == 0.0
    assert all(m.split == "train" for c in copies if c for m in c.matches)
    html = (t2i_run / "report.html").read_text()
    assert "Extraction by duplication count" in html
    # the default scan reports membership signals, planted vs held out
    assert {r.signal for r in s.mia.signals} >= {"loss_t", "pia", "wen_norm"} or s.mia.signals
    assert len(s.mia.img2img) > 0


def test_stopped_then_resumed_scan_gives_the_same_images(t2i_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    _scan(t2i_run, db, "--no-html", "--max-generations", str(TOTAL // 3))
    assert len(_images(db)) == TOTAL // 3
    _scan(t2i_run, db, "--no-html")
    _same_images(_images(db), _images(t2i_run / "run.db"))


# ------------------------------------------------------------------------- kill -9, resume

def _start(db: Path, cache: Path) -> subprocess.Popen[str]:
    args = scan_args(db, "--no-html", target="reference-t2i?threads=1&batch_size=8")
    return start_scan(args, cache, cwd=db.parent)


@pytest.mark.slow  # two scan subprocesses
def test_sigkill_then_rerun_gives_the_same_images(t2i_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    proc = _start(db, t2i_run / "cache")
    wait_for_generations(db, 16, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 16 <= ok_generations(db) < TOTAL
    rerun = _start(db, t2i_run / "cache")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    # the same scan run straight through, at the same batch size (batch 8 and 32 differ by
    # one level in a few pixels: CPU kernels round differently)
    straight = tmp_path / "straight.db"
    once = _start(straight, t2i_run / "cache")
    _, err = once.communicate(timeout=300)
    assert once.returncode == 0, err[-2000:]
    _same_images(_images(db), _images(straight))
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT max(attempts) FROM generations").fetchone()[0] == 1
