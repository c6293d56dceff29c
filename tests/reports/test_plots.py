from __future__ import annotations

import xml.etree.ElementTree as ET

from regurgitate.reports import plots


def parse(svg: str) -> ET.Element:
    # inline SVG in HTML needs no namespace declarations; a standalone XML parser does
    ns = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
    return ET.fromstring(svg.replace("<svg ", f"<svg {ns} ", 1))


def texts(svg: str) -> list[str]:
    return ["".join(e.itertext()) for e in parse(svg).iter() if e.tag.endswith("text")]


def test_plots_are_inline_svg_without_urls():
    svgs = [
        plots.span_length_svg([50, 55, 60, 60, 120]),
        plots.discovery_svg([(1, 1), (2, 1), (3, 2)], {1: 3.0, 2: 3.5}, 3.2),
        plots.corpus_count_svg([50, 60], [1, 300]),
        plots.attack_comparison_svg(["a", "b"], [0.5, None], [0.1, 0.2]),
    ]
    for svg in svgs:
        assert svg is not None and svg.startswith('<svg role="img" class="plot"')
        assert "http" not in svg and "<script" not in svg and "<?xml" not in svg
        root = parse(svg)
        assert root.get("viewBox") and root.get("width") is None
    assert "span length (tokens)" in texts(svgs[0])
    assert any("estimated total (Chao1) 3.2" in t for t in texts(svgs[1]))


def test_empty_inputs_give_no_plot():
    assert plots.span_length_svg([]) is None
    assert plots.discovery_svg([], None, None) is None
    assert plots.corpus_count_svg([], []) is None
    assert plots.attack_comparison_svg([], [], []) is None


def test_labels_are_sanitised():
    svg = plots.attack_comparison_svg(["<script>alert(1)</script>", "ok"], [0.2, 0.1],
                                      [0.1, 0.0])
    labels = texts(svg)
    assert "?script?alert(1)?/script" in labels and "ok" in labels
    assert "<script" not in svg and "&lt;script" not in svg
    assert plots.safe_label("") == "?" and len(plots.safe_label("x" * 100)) == 24
