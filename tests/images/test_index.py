"""The training-image index: readers, caption counts, exact threshold search, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from regurgitate.cli.main import main
from regurgitate.errors import CorpusError, IndexCorruptError
from regurgitate.images.distance import tiled_l2
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.records import SourceImage
from regurgitate.images.sources import read_source

from .conftest import random_images


def test_folder_index_finds_copies_and_counts_captions(image_folder, tmp_path: Path) -> None:
    folder, pix = image_folder
    build_image_index(read_source(folder), tmp_path / "idx", IndexSettings(size=32))
    index = ImageIndex(tmp_path / "idx")
    assert len(index) == 12
    ranking = dict(index.caption_ranking())
    assert ranking["a cat"] == 5 and ranking["a dog"] == 6  # 3 + 1 + 1 + 1
    assert index.caption_ranking()[0] == ("a dog", 6)
    noisy = np.clip(pix[3].astype(int) + np.random.default_rng(1).integers(-6, 7, pix[3].shape),
                    0, 255).astype(np.uint8)
    found = index.query([noisy, pix[7]], k=2)
    assert found[0][0].id == "t3" and found[0][0].within and found[0][0].distance < 0.05
    assert found[1][0].id == "t7" and found[1][0].distance == pytest.approx(0.0, abs=1e-6)
    assert not found[0][1].within  # the next nearest is another picture


def test_range_search_equals_brute_force(tmp_path: Path) -> None:
    train = random_images(200, size=16, seed=3)
    # near-copies of some training images, at various distances
    rng = np.random.default_rng(4)
    queries = []
    for i in range(40):
        base = train[i % 200].astype(int)
        queries.append(np.clip(base + rng.integers(-60, 61, base.shape) * (i % 4) // 3,
                               0, 255).astype(np.uint8))
    build_image_index((SourceImage(id=str(i), caption="x", pixels=p) for i, p in
                       enumerate(train)), tmp_path / "idx",
                      IndexSettings(size=16, retrieval_factor=4, threshold=0.15))
    index = ImageIndex(tmp_path / "idx")
    answers = index.query(queries, k=1)
    truth = tiled_l2(np.stack(queries), train, 4) <= 0.15
    for q, ans in enumerate(answers):
        assert {n.id for n in ans if n.within} == {str(j) for j in np.flatnonzero(truth[q])}
    assert truth.sum() > 5  # the test exercises real matches


def test_csv_and_parquet_sources(image_folder, tmp_path: Path) -> None:
    folder, pix = image_folder
    with (folder / "captions.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "caption"])
        for i in range(3):
            w.writerow([f"img{i:02d}.png", "csv caption"])
    (folder / "captions.jsonl").unlink()
    assert [s.caption for s in read_source(folder)] == ["csv caption"] * 3
    rows = []
    for i in range(4):
        buf = io.BytesIO()
        Image.fromarray(pix[i]).save(buf, format="PNG")
        rows.append({"id": f"p{i}", "image": {"bytes": buf.getvalue(), "path": None},
                     "text": f"caption {i % 2}"})
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
    got = list(read_source(tmp_path / "pairs.parquet"))
    assert [g.id for g in got] == ["p0", "p1", "p2", "p3"]
    assert np.array_equal(got[2].pixels, pix[2])


def test_bad_sources_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="captions"):
        list(read_source(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "captions.jsonl").write_text(json.dumps({"file": "../escape.png"}) + "\n")
    with pytest.raises(CorpusError, match="leaves the folder"):
        list(read_source(bad))


def test_cli_build_and_corrupt_index(image_folder, tmp_path: Path, capsys) -> None:
    folder, _ = image_folder
    out = tmp_path / "idx"
    main(["index", "build-images", str(folder), "-o", str(out), "--size", "32"])
    assert json.loads((out / "meta.json").read_text())["images"] == 12
    with pytest.raises(SystemExit) as exc:
        main(["index", "build-images", str(folder), "-o", str(out)])
    assert exc.value.code == 2  # exists, no --force
    (out / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError):
        ImageIndex(out)


def test_force_replaces_an_image_index_but_never_other_folders(image_folder, tmp_path: Path,
                                                               run_cli) -> None:
    folder, _ = image_folder
    out = tmp_path / "idx"
    build = ["index", "build-images", str(folder), "-o", str(out), "--size", "32"]
    assert run_cli(build)[0] == 0
    code, _, err = run_cli([*build, "--force"])
    assert code == 0 and "12 images" in err  # progress and summary on stderr
    assert ImageIndex(out).meta["images"] == 12
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"keep me")
    code, _, err = run_cli(["index", "build-images", str(folder), "-o", str(photos), "--force"])
    assert code == 2 and "not an image index" in err
    assert (photos / "holiday.jpg").read_bytes() == b"keep me"
    (out / "notes.txt").write_text("mine")  # an index with a user's file in it stays too
    code, _, err = run_cli([*build, "--force"])
    assert code == 2 and "other file" in err and (out / "notes.txt").exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run_cli(["index", "build-images", str(folder), "-o", str(afile)])
    assert code == 2 and "is a file" in err and afile.read_text() == "x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
