"""The scan progress bar names the units a scan produces."""

from __future__ import annotations

import io

from rich.console import Console

from regurgitate.cli.common import ScanBar


def _drawn(images: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    with ScanBar(console, images=images) as bar:
        bar.start(total=4, done=0)
        bar.advance(2, 0 if images else 300, 0 if images else 1)
    return out.getvalue()


def test_text_scans_show_tokens_and_spans() -> None:
    text = _drawn(images=False)
    assert "tok/s" in text and "1 memorized spans" in text


def test_image_scans_show_images_not_tokens() -> None:
    text = _drawn(images=True)
    assert "images/s" in text
    assert "tok/s" not in text and "memorized spans" not in text
