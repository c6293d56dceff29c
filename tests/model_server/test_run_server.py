"""``run_server`` (what ``regurgitate serve`` calls) in a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest


@pytest.mark.slow
def test_run_server_prints_url_and_serves(tiny_model_dir):
    code = (
        "from regurgitate.model_server import run_server\n"
        f"run_server({str(tiny_model_dir)!r}, '127.0.0.1', 0)\n"
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving "), line
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        reply = httpx.post(f"{url}/completions", timeout=30,
                           json={"prompt": "The quick", "max_tokens": 4, "temperature": 0})
        assert reply.status_code == 200
        assert reply.json()["usage"]["completion_tokens"] <= 4
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
