"""Auditing images made elsewhere: `scan --target images:DIR --index IDX`, report and export.
Captions and prompts are untrusted: they must come out escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from regurgitate.cli.main import main
from regurgitate.reports.image_data import summarize_images
from regurgitate.store import RunStore
from tests.images.conftest import random_images

EVIL = '<script>alert("x")</script><img src=http://example.com/t.png>'


def test_folder_scan_finds_the_copy_and_escapes_text(tmp_path: Path, monkeypatch) -> None:
    train = random_images(10, size=32, seed=11)
    src = tmp_path / "train"
    src.mkdir()
    rows = []
    for i, p in enumerate(train):
        Image.fromarray(p).save(src / f"{i}.png")
        rows.append(json.dumps({"file": f"{i}.png", "caption": EVIL if i == 2 else f"c{i}"}))
    (src / "captions.jsonl").write_text("\n".join(rows) + "\n")
    gen = tmp_path / "outputs"
    gen.mkdir()
    Image.fromarray(train[2]).save(gen / "copy.png")
    Image.fromarray(random_images(1, size=32, seed=50)[0]).save(gen / "new.png")
    (gen / "generations.jsonl").write_text(
        json.dumps({"file": "copy.png", "prompt": EVIL, "seed": 1}) + "\n"
        + json.dumps({"file": "new.png", "prompt": "something new", "seed": 2}) + "\n")
    monkeypatch.chdir(tmp_path)
    main(["index", "build-images", str(src), "-o", str(tmp_path / "idx"), "--size", "32"])
    db = tmp_path / "run.db"
    html = tmp_path / "report.html"
    main(["scan", "--target", f"images:{gen}", "--index", str(tmp_path / "idx"),
          "--run", str(db), "--html", str(html)])
    with RunStore.open(db, create=False) as store:
        s = summarize_images(store)
    assert s.generations == 2 and s.extracted == 1 and s.unique_extracted == 1
    page = html.read_text()
    assert "<script" not in page and "<img src=http" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=http://example.com" in page
    out = tmp_path / "export.jsonl"
    main(["export", str(db), "--format", "jsonl", "-o", str(out)])
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(len(r["image_sha256"]) == 64 for r in exported)
    for r in exported:
        img = np.asarray(Image.open(out.parent / r["image_path"]))
        assert img.shape == (32, 32, 3)


def _small_scan(tmp_path: Path, run_cli, caption: str = "c1") -> list[str]:
    """A 3-image index and 2 recorded generations, copies of images 0 and 1 (whose caption,
    also the generation's prompt, is ``caption``); the scan's command line."""
    def name(i: int) -> str:
        return caption if i == 1 else f"c{i}"

    train = random_images(3, size=32, seed=13)
    src = tmp_path / "train"
    src.mkdir()
    for i, p in enumerate(train):
        Image.fromarray(p).save(src / f"{i}.png")
    (src / "captions.jsonl").write_text("".join(
        json.dumps({"file": f"{i}.png", "caption": name(i)}) + "\n" for i in range(3)))
    gen = tmp_path / "outputs"
    gen.mkdir()
    for i in range(2):
        Image.fromarray(train[i]).save(gen / f"{i}.png")
    (gen / "generations.jsonl").write_text("".join(
        json.dumps({"file": f"{i}.png", "prompt": name(i), "seed": i}) + "\n"
        for i in range(2)))
    assert run_cli(["index", "build-images", str(src), "-o", str(tmp_path / "idx"),
                    "--size", "32"])[0] == 0
    return ["scan", "--target", f"images:{gen}", "--index", str(tmp_path / "idx"),
            "--run", str(tmp_path / "run.db")]


def test_control_and_bidi_characters_are_shown_not_obeyed(tmp_path: Path, run_cli) -> None:
    html = tmp_path / "report.html"
    scan = _small_scan(tmp_path, run_cli, caption="a cat\x1b]0;pwned\x07\x1b[2J\u202eyrros")
    code, out, err = run_cli([*scan, "--html", str(html)])
    assert code == 0 and "\\x1b]0;pwned" in out  # the caption, escaped
    for raw in ("\x1b]0;", "\x1b[2J", "\x07", "\u202e"):
        assert raw not in out and raw not in err
        assert raw not in html.read_text()
    assert "U+202E" in html.read_text()


def test_an_image_scan_holds_the_run_lease_and_resumes_with_the_users_command(
        tmp_path: Path, run_cli) -> None:
    from regurgitate.store.lease import scan_lease

    scan = [*_small_scan(tmp_path, run_cli), "--no-html"]
    with scan_lease(tmp_path / "run.db"):
        code, _, err = run_cli(scan)
    assert code == 6 and "is in use by" in err
    code, _, err = run_cli([*scan, "--max-generations", "1"])
    assert code == 0 and "--max-generations 2" in err  # resume hint raises the budget


def test_bad_image_options_are_one_line_errors(tmp_path: Path, run_cli) -> None:
    scan = [*_small_scan(tmp_path, run_cli), "--no-html"]
    for option, words in (("image_clique.kk=3", "unknown option 'kk'"),
                          ("image_copy.k=abc", "k"), ("image_clique.k=x", "k")):
        code, _, err = run_cli([*scan, "--set", option])
        assert code == 2 and words in err and "Traceback" not in err, (option, err)


def test_text_only_flags_and_components_are_errors_that_name_them(tmp_path: Path,
                                                                   run_cli) -> None:
    scan = [*_small_scan(tmp_path, run_cli), "--no-html"]
    for extra, words in ((["--min-tokens", "20"], "--min-tokens applies to text targets only"),
                         (["--max-docs", "3", "--max-tokens", "9"],
                          "--max-docs, --max-tokens apply to text targets only"),
                         (["--attack", "corpus-prompts"],
                          "the attack 'corpus-prompts' prompts text models"),
                         (["--set", "verbatim.min_tokens=3"], "--set names verbatim"),
                         (["--attack", "nope"], "unknown attack 'nope'")):
        code, _, err = run_cli([*scan, *extra])
        assert code == 2 and words in err and "Traceback" not in err, (extra, err)
    assert not (tmp_path / "run.db").exists()  # refused before anything was started
    # a text target given a training-image index is told so
    code, _, err = run_cli(["scan", "--target", "hf:/nonexistent", "--index",
                            str(tmp_path / "idx"), "--run", str(tmp_path / "t.db")])
    assert code == 2 and "is a training-image index" in err, err


def test_the_run_table_says_image(tmp_path: Path, run_cli) -> None:
    code, _, err = run_cli([*_small_scan(tmp_path, run_cli), "--no-html"])
    assert code == 0, err
    with RunStore.open(tmp_path / "run.db") as store:
        spec = store.spec()
        assert spec is not None and spec.modality == "image" and store.is_image_run()
