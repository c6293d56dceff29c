"""Works readers, window placement and per-work figures on crafted windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from regurgitate.audit.figures import WindowResult, union, wilson, work_figures
from regurgitate.audit.windows import window_starts
from regurgitate.audit.works import load_works, works_digest
from regurgitate.errors import ConfigError

from .conftest import write_jsonl


def test_text_folder_and_jsonl_works(tmp_path: Path) -> None:
    book = tmp_path / "shelf" / "novel.txt"
    book.parent.mkdir()
    book.write_text("Prologue.\nChapter 1\nIt began.\nCHAPTER II: Later\nIt ended.\n")
    (tmp_path / "shelf" / "sub").mkdir()
    (tmp_path / "shelf" / "sub" / "poem.txt").write_text("A short poem.")
    one = load_works(book)[0]
    assert one.id == "novel" and one.title == "novel"
    assert [(c.start, c.title) for c in one.chapters] == [(10, "Chapter 1"),
                                                          (30, "CHAPTER II: Later")]
    assert [w.id for w in load_works(tmp_path / "shelf")] == ["novel", "sub/poem"]
    jl = write_jsonl(tmp_path / "w.jsonl", [
        {"id": "a", "text": "Some text.", "title": "A", "chapters": [{"start": 5, "title": "x"}],
         "names": ["Ann"]},
        {"text": "More text."}])
    works = load_works(jl)
    assert works[0].title == "A" and works[0].names == ("Ann",) and works[0].chapters[0].start == 5
    assert works[1].id == "w:2"
    assert works_digest(works) != works_digest(works[:1])


@pytest.mark.parametrize("rows, message", [
    ([{"id": "a"}], "non-empty 'text'"),
    ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], "share the id"),
    ([{"id": "a", "text": "x", "chapters": [{"start": 99}]}], "character offset"),
])
def test_bad_works_are_one_line_errors(tmp_path: Path, rows: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_works(write_jsonl(tmp_path / "w.jsonl", rows))


def test_windows_reach_the_end_of_the_work() -> None:
    assert window_starts(130, 50, 50, 10) == [0, 10, 20, 30]
    assert window_starts(135, 50, 50, 10) == [0, 10, 20, 30, 35]
    assert window_starts(70, 50, 50, 10) == []  # too short for one window: not scored
    assert window_starts(50, 50, 50, 10) == []


def _w(i: int, start: int, end: int, p: float, greedy: bool | None = None) -> WindowResult:
    return WindowResult("w", i, max(0, start - 100), start, end, p, greedy=greedy)


def test_figures_count_suffix_characters_once() -> None:
    from regurgitate.audit.works import Work

    work = Work("w", "x" * 1000, "w")
    wins = [_w(0, 100, 300, 0.9, True), _w(1, 200, 400, 0.6, True),  # overlap: 100..400
            _w(2, 500, 600, 0.02, False), _w(3, 700, 800, 0.0, True)]
    fig = work_figures(work, wins)
    assert fig.extracted_share == pytest.approx(0.3)
    assert fig.shares["p>=0.01"] == pytest.approx(0.4)
    assert fig.shares["greedy"] == pytest.approx(0.4)
    assert fig.longest is not None and (fig.longest.start, fig.longest.end) == (100, 400)
    assert fig.max_p == 0.9
    assert union([(0, 5), (5, 9), (20, 30)])[0].end == 9
    lo, hi = wilson(0, 20)
    assert lo == 0.0 and 0.1 < hi < 0.2
