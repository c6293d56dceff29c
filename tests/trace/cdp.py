"""A small driver of headless Chromium over the DevTools protocol, on a pipe (stdlib only).

Chromium reads commands on fd 3 and writes answers on fd 4 (``--remote-debugging-pipe``),
each a JSON object ended by a NUL byte. :class:`Page` evaluates JavaScript in one tab and
waits on conditions: :meth:`Page.wait` runs a predicate in the page until it holds, inside
the page's own event loop (no sleeps here), and fails with the page's state after a
deadline.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import subprocess
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


class BrowserError(AssertionError):
    pass


class Browser:
    """One headless Chromium process with its own profile under ``profile``."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 1000) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        ours_r, theirs_w = os.pipe()  # Chromium writes answers on its fd 4
        theirs_r, ours_w = os.pipe()  # Chromium reads commands on its fd 3
        # moved above 4 first (so that neither lands on the other's target); then bash (dash
        # takes one-digit fds only) puts them on fds 3 and 4 and runs Chromium in its place
        for fd in (theirs_r, theirs_w):
            os.set_inheritable(fd, False)
        high_r = fcntl.fcntl(theirs_r, fcntl.F_DUPFD, 5)
        high_w = fcntl.fcntl(theirs_w, fcntl.F_DUPFD, 5)
        os.close(theirs_r)
        os.close(theirs_w)
        theirs_r, theirs_w = high_r, high_w
        shell = f'exec "$0" "$@" 3<&{theirs_r} 4>&{theirs_w} {theirs_r}<&- {theirs_w}>&-'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", shell, str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            pass_fds=(theirs_r, theirs_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(theirs_r)
        os.close(theirs_w)
        self._w = os.fdopen(ours_w, "wb", buffering=0)
        self._r = os.fdopen(ours_r, "rb", buffering=0)
        self._buf = b""
        self._n = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._n += 1
        msg: dict[str, Any] = {"id": self._n, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        self._w.write(json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._n:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            chunk = self._r.read(1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return dict(json.loads(raw))

    def page(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})
        session = self.send("Target.attachToTarget",
                            {"targetId": target["targetId"], "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Runtime.enable")
        page.send("Page.enable")
        page.goto(url)
        return page

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._w.close()
        self._r.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete' && location.href !== 'about:blank'")

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        out = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in out:
            raise BrowserError(f"{expression[:200]}: {out['exceptionDetails']}")
        return out.get("result", {}).get("value")

    def wait(self, condition: str, timeout_ms: int = 60_000) -> Any:
        """Wait until the expression ``condition`` is truthy in the page (re-checked on each
        animation frame or 20 ms timer tick there); its value. BrowserError with the page's
        error box and body text when it never holds."""
        script = f"""new Promise((resolve) => {{
          const until = Date.now() + {timeout_ms};
          const check = () => {{
            let v = null;
            try {{ v = ({condition}); }} catch (e) {{ v = null; }}
            if (v) resolve({{ok: true, value: v}});
            else if (Date.now() > until) resolve({{ok: false}});
            else setTimeout(check, 20);
          }};
          check();
        }})"""
        result = self.js(script)
        if not result or not result.get("ok"):
            state = self.js("(() => { const e = document.getElementById('error');"
                            " return (e ? 'error box: ' + e.textContent + ' | ' : '') +"
                            " document.body.innerText.slice(0, 2000); })()")
            raise BrowserError(f"condition never held: {condition}\npage: {state}")
        return result.get("value")

    def click(self, selector: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, path: Path, *, full: bool = True) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full:
            metrics = self.send("Page.getLayoutMetrics")
        if full:
            size = metrics["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 4000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
