"""Screenshots of a real `regurgitate trace` session for docs/trace.md.

    python -m tools.docs.trace_screenshots [--out docs/images]

Starts `regurgitate trace` exactly as a user would (no arguments but a free port: the
bundled reference model and corpus), drives the page in headless Chromium over the
DevTools pipe (tests/trace/cdp.py): asks the model to continue the first words of a
passage planted 100 times (completion form, greedy), pastes a text holding a planted PII
record, clicks the longest span, and writes ``trace-chat.png`` and ``trace-sources.png``.
Every wait is a condition on the page.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.trace.cdp import Browser


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    args = ap.parse_args()
    from regurgitate import reference

    m = reference.load_manifest()
    x100 = [it for it in m.by_kind("passage") if it.copies == 100][2]
    pii = m.by_kind("pii")[0]
    exe = str(Path(sys.executable).parent / "regurgitate")
    proc = subprocess.Popen([exe, "trace", "--port", "0"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            found = re.search(r"trace page: (http://\S+?)/", line)
            if found:
                url = found.group(1)
                break
        if url is None:
            raise SystemExit("regurgitate trace did not start")
        with tempfile.TemporaryDirectory() as tmp, \
                Browser(Path(tmp), width=1500, height=1100) as browser:
            page = browser.page(url + "/")
            page.wait("document.body.dataset.ready === '1'")
            prompt = " ".join(x100.text.split()[:12])
            page.js(f"""(() => {{ document.getElementById('form').value = 'completion';
                document.getElementById('prompt').value = {prompt!r};
                document.getElementById('max_new_tokens').value = '120';
                document.getElementById('ask-btn').click(); }})()""")
            page.wait("document.querySelectorAll('.answer[data-works]').length === 1",
                      timeout_ms=180_000)
            text = ("Here is what I found about the society: " + pii.text)
            page.js(f"""(() => {{ document.getElementById('tab-paste').click();
                document.getElementById('paste-text').value = {text!r};
                document.getElementById('trace-btn').click(); }})()""")
            page.wait("document.querySelectorAll('.answer[data-works]').length === 2")
            args.out.mkdir(parents=True, exist_ok=True)
            page.screenshot(args.out / "trace-chat.png")
            page.js("document.querySelectorAll('.answer')[1].querySelector('mark.span').click()")
            page.wait("document.querySelectorAll('#source-list .source').length > 0")
            page.screenshot(args.out / "trace-sources.png")
            print(f"wrote {args.out / 'trace-chat.png'} and {args.out / 'trace-sources.png'}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
