"""The trace server over real HTTP on 127.0.0.1: limits, errors that leave it running,
keys, and `regurgitate trace` itself starting with no arguments."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from regurgitate.errors import ConfigError

from .conftest import make_engine


def call(base: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
         raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(base + path, data=data, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_oversized_paste_dead_target_and_bad_requests_leave_the_server_running(
        reference_idx: Path, serve) -> None:
    dead = f"openai:http://127.0.0.1:{closed_port()}/v1?model=m&max_retries=0&timeout=5"
    with serve(make_engine(reference_idx, dead, max_chars=5_000)) as base:
        code, got = call(base, "/api/trace", {"text": "y" * 5_001})
        assert code == 413 and "5,001 characters long" in got["error"]
        code, got = call(base, "/api/trace", raw=b"{" + b"x" * 200_000)  # over the body limit
        assert code == 413 and "5,000 characters" in got["error"]
        code, got = call(base, "/api/chat", {"form": "completion", "prompt": "Hello"})
        assert code == 502 and "cannot connect" in got["error"]
        code, got = call(base, "/api/trace", raw=b"text=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert code == 415
        code, got = call(base, "/api/info", headers={"Host": "evil.example:80"})
        assert code == 403  # DNS rebinding: a foreign Host is refused
        code, got = call(base, "/api/sources", {"answer": "trace-404", "token_start": 0,
                                                "token_end": 1})
        assert code == 400 and "not held" in got["error"]
        code, got = call(base, "/api/trace", {"text": "after all that, still tracing"})
        assert code == 200 and got["check"]["chars"] == 29


def test_missing_index_is_said_and_nothing_is_traced(tmp_path: Path, serve) -> None:
    with serve(make_engine(tmp_path / "no-such-index", None)) as base:
        code, info = call(base, "/api/info")
        assert code == 200 and info["index"]["ok"] is False
        assert "no-such-index cannot be opened" in info["index"]["error"]
        code, got = call(base, "/api/trace", {"text": "anything"})
        assert code == 503 and "cannot be opened" in got["error"]
        with urllib.request.urlopen(base + "/", timeout=30) as resp:  # the page still loads
            page = resp.read().decode()
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        # no CDN: every asset is the package's own
        assert re.findall(r'(?:src|href)="([^"]+)"', page) == ["/static/trace.css",
                                                              "/static/trace.js"]


def test_a_key_is_required_beyond_loopback_and_checked_when_set(reference_idx: Path,
                                                                serve) -> None:
    from regurgitate.trace.api import TraceApp
    from regurgitate.trace.server import bind_trace_server

    engine = make_engine(reference_idx)
    with pytest.raises(ConfigError, match="beyond this machine with no API key"):
        bind_trace_server(TraceApp(engine, Path("runs")), "0.0.0.0", 0)
    with serve(engine, api_key="s3cret") as base:
        assert call(base, "/api/info")[0] == 401
        assert call(base, "/api/info", headers={"Authorization": "Bearer nope"})[0] == 401
        assert call(base, "/api/info", headers={"Authorization": "Bearer s3cret"})[0] == 200
        with urllib.request.urlopen(base + "/static/trace.js", timeout=30) as resp:
            assert resp.status == 200  # the page's own files carry no data


def test_trace_with_no_arguments_serves_the_reference_model_and_corpus(
        reference_idx: Path, trace_cache: Path) -> None:
    env = {**os.environ, "REGURGITATE_CACHE": str(trace_cache), "HF_HUB_OFFLINE": "1"}
    exe = str(Path(sys.executable).parent / "regurgitate")
    proc = subprocess.Popen([exe, "trace", "--port", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env)
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:  # waits for the line that names the page
            found = re.search(r"trace page: (http://127\.0\.0\.1:\d+)/", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "no URL printed"
        code, info = call(url, "/api/info")
        assert code == 200 and info["target"] == "reference"
        assert info["index"]["ok"] and info["index"]["spec"] == str(reference_idx)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_trace_refuses_a_public_host_without_a_key_and_an_image_target(run_cli) -> None:
    code, _, err = run_cli(["trace", "--host", "0.0.0.0", "--target", "none",
                            "--index", "nowhere"])
    assert code != 0 and "with no API key" in err
    code, _, err = run_cli(["trace", "--target", "reference-image", "--index", "nowhere"])
    assert code == 2 and "makes images" in err


def test_chat_with_the_reference_model_then_evidence_and_a_saved_run(
        reference_idx: Path, tmp_path: Path, serve, run_cli) -> None:
    """The bundled model continues a passage planted 100 times; its answer is traced, gives
    membership figures and an evidence packet, and the session saves as a run `report`
    reads."""
    from regurgitate import reference

    item = [it for it in reference.load_manifest().by_kind("passage") if it.copies == 100][2]
    prompt = " ".join(item.text.split()[:12])
    with serve(make_engine(reference_idx, "reference")) as base:
        code, answer = call(base, "/api/chat", {"form": "completion", "prompt": prompt,
                                                "settings": {"greedy": True,
                                                             "max_new_tokens": 56}})
        assert code == 200, answer
        assert answer["ranked"] and answer["ranked"][0]["count"] == 100
        assert answer["membership"]["loss"] is not None
        code, got = call(base, "/api/chat", {"form": "chat", "messages": [
            {"role": "user", "content": "Hello"}], "settings": {"top_p": 7}})
        assert code == 400 and "top_p" in got["error"]
        code, ev = call(base, "/api/evidence", {"answer": answer["id"]})
        assert code == 200 and ev["packets"][0]["corpus_count"] == 100
        assert ev["packets"][0]["prompt"] == prompt
        code, saved = call(base, "/api/save", {"answers": [answer["id"]],
                                               "name": "../../escape me"})
        assert code == 200 and Path(saved["path"]).parent == tmp_path / "runs"
        assert Path(saved["path"]).name == "escape-me.db"
    code, out, err = run_cli(["report", saved["path"]])
    assert code == 0, err
