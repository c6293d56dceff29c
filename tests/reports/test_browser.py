"""The report in a real browser (headless Chromium): nothing from the payloads runs, the
payloads show as text, and the page renders with its highlight colour."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from regurgitate.reports import write_html_report

from .payloads import MARKER, evil_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=3000"]
# the serialised <title> of the evil report: its target is a <script> payload, kept as text
EVIL_TITLE = "regurgitate report: hf:&lt;script&gt;document.title='PWNED'&lt;/script&gt;"
HIGHLIGHT = (0xFD, 0xE6, 0x8A)  # --mark in report.css

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="SKIPPED LOUDLY: /usr/bin/chromium is "
                       "missing; install it with `apt-get install -y chromium`"),
]


def chromium(tmp: Path, *args: str) -> str:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    proc = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def dump_dom(tmp: Path, page: Path) -> str:
    return chromium(tmp, "--dump-dom", page.as_uri())


def assert_nothing_ran(dom: str, title: str) -> None:
    found = re.findall(r"<title>(.*?)</title>", dom, flags=re.S)
    assert found == [title]  # a payload that ran would have set it to PWNED
    assert 'data-pwned="1"' not in dom
    assert "<pwned" not in dom
    assert "<iframe" not in dom and "<img" not in dom and "<base" not in dom


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory) -> Path:
    return write_html_report(evil_run(), tmp_path_factory.mktemp("rep") / "report.html")


def test_harness_detects_execution(tmp_path: Path):
    """Positive control: the same payloads pasted raw into a page do run and are seen."""
    page = tmp_path / "raw.html"
    page.write_text("<!DOCTYPE html><html><head><title>regurgitate report: hf:x</title></head>"
                    "<body><script>document.title='PWNED'</script>"
                    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
                    "</body></html>")
    dom = dump_dom(tmp_path, page)
    with pytest.raises(AssertionError):
        assert_nothing_ran(dom, "regurgitate report: hf:x")
    assert "<title>PWNED</title>" in dom and 'data-pwned="1"' in dom


def test_payloads_do_not_execute(tmp_path: Path, evil_report: Path):
    dom = dump_dom(tmp_path, evil_report)
    assert_nothing_ran(dom, EVIL_TITLE)
    # the payloads are in the page as text (serialised with < and > escaped)
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt;" in dom
    assert "&lt;/textarea&gt;&lt;/pre&gt;&lt;/mark&gt;&lt;script&gt;" in dom
    assert MARKER in dom
    # our own (hash-allowed) filter script did run: the filter bar is shown
    assert re.search(r'<div id="filters">', dom), "the report's own script did not run"


def test_escaping_holds_without_csp(tmp_path: Path, evil_report: Path):
    """Defence in depth: with the CSP meta tag removed, escaping alone keeps payloads inert."""
    html = evil_report.read_text(encoding="utf-8")
    stripped = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert stripped != html
    page = tmp_path / "nocsp.html"
    page.write_text(stripped, encoding="utf-8")
    dom = dump_dom(tmp_path, page)
    assert_nothing_ran(dom, EVIL_TITLE)
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom


def test_screenshot_has_content_and_highlights(tmp_path: Path):
    from matplotlib import image

    from .runs import demo_run

    report = write_html_report(demo_run(), tmp_path / "demo.html")
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", report.as_uri())
    pixels = image.imread(str(shot))
    assert pixels.shape[0] == 4000 and pixels.shape[1] == 1280
    rgb = np.round(pixels[..., :3] * 255).astype(int)
    assert rgb.std() > 20  # not blank
    dark = (rgb.sum(axis=2) < 200).mean()
    assert dark > 0.005  # there is text
    near = np.abs(rgb - np.array(HIGHLIGHT)).max(axis=2) <= 6
    assert near.sum() > 500, "highlight colour not on screen"


# Measures the laid-out page: elements whose right edge passes the viewport, and whether the
# right-to-left override of the hostile run reached the DOM. Injected only into a test copy.
LAYOUT_PROBE = """<script>
(function () {
  var w = document.documentElement.clientWidth, bad = [];
  var all = document.querySelectorAll('body *');
  for (var i = 0; i < all.length; i++) {
    var r = all[i].getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1) { bad.push(all[i].tagName + '.' + all[i].className); }
  }
  var text = document.body.textContent;
  document.body.setAttribute('data-overflow', bad.slice(0, 5).join(',') || 'none');
  document.body.setAttribute('data-page-width', document.documentElement.scrollWidth + '/' + w);
  document.body.setAttribute('data-rlo', text.indexOf('\\u202e') >= 0 ? 'raw' : 'absent');
})();
</script>"""


def test_hostile_text_shows_markers_and_nothing_overflows(tmp_path: Path) -> None:
    """Right-to-left overrides show as a marker (the text is not reversed) and 6,000-char
    unbroken strings wrap: no element of the page passes the viewport's right edge."""
    from .hostile import hostile_run

    report = write_html_report(hostile_run(), tmp_path / "hostile.html")
    html = report.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--window-size=800,1000", "--dump-dom", page.as_uri())
    assert 'data-overflow="none"' in dom, re.findall(r'data-overflow="[^"]*"', dom)
    width = re.search(r'data-page-width="(\d+)/(\d+)"', dom)
    assert width is not None and int(width.group(1)) <= int(width.group(2))
    assert 'data-rlo="absent"' in dom
    marker = '<span class="ctl" title="U+202E RIGHT-TO-LEFT OVERRIDE">\u27e8U+202E\u27e9</span>'
    assert marker + "gnp.exe" in dom
