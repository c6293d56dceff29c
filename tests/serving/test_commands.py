"""Both serving commands on the serving layer: `serve` and `index serve` refuse a host beyond
loopback without a key in one line (usage exit code), and, started for real with a key file,
answer 401 without the key, 200 with it and 413 above the body limit, in the same words."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from regurgitate.index import CorpusIndex
from regurgitate.serving import MAX_BODY_BYTES

RunCli = Callable[[list[str]], tuple[int, str, str]]  # the fixture in tests/conftest.py
KEY = "both-servers-key-0c4d"


@pytest.mark.parametrize("command", [["serve"], ["index", "serve", "no-such-index"]])
def test_a_host_beyond_loopback_without_a_key_is_refused_in_one_line(
        command: list[str], run_cli: RunCli) -> None:
    # refused before the model or the index is opened (the index does not even exist)
    code, out, err = run_cli([*command, "--host", "0.0.0.0", "--port", "0"])
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0, err  # one line: what is wrong and how to fix it
    assert err.startswith("error: --host 0.0.0.0 would serve")
    for fix in ("--api-key-env", "--api-key-file", "--insecure-no-auth"):
        assert fix in err


def _start(args: list[str], url_stream: str) -> tuple[subprocess.Popen[str], str]:
    """Run ``regurgitate ARGS`` until it prints the line with its URL (on ``url_stream``)."""
    proc = subprocess.Popen([sys.executable, "-m", "regurgitate.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"})
    stream = proc.stdout if url_stream == "stdout" else proc.stderr
    assert stream is not None
    for line in stream:  # ends when the process does
        if line.startswith("serving "):
            url = line.split(" at ", 1)[1].split()[0]
            parts = urlsplit(url)
            return proc, f"{parts.scheme}://{parts.netloc}"
    proc.wait(timeout=30)
    pytest.fail(f"{args[0]} stopped before serving: {proc.communicate()[1]}")


def _too_big(base: str, path: str) -> tuple[int, str]:
    """POST that announces one byte more than the limit (and sends none of it)."""
    netloc = urlsplit(base).netloc
    conn = http.client.HTTPConnection(netloc, timeout=60)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Authorization", f"Bearer {KEY}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, reply.read().decode()
    finally:
        conn.close()


def _check_access(base: str, path: str, query: dict[str, object]) -> tuple[str, str]:
    """401 without the key and with a wrong one, 200 with it, 413 above the limit; (the
    401's auth scheme, its body)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        refusals = []
        for headers in ({}, {"Authorization": f"Bearer {KEY}-not"}):
            refused = client.post(path, json=query, headers=headers)
            assert refused.status_code == 401 and KEY not in refused.text
            refusals.append((refused.headers["www-authenticate"].split()[0],
                             json.dumps(refused.json())))
        assert refusals[0] == refusals[1]
        ok = client.post(path, json=query, headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200, ok.text
        assert "error" not in ok.json()
    status, body = _too_big(base, path)
    assert status == 413 and f"at most {MAX_BODY_BYTES}" in body
    return refusals[0]


MODEL_QUERY = {"prompt": "The quick", "max_tokens": 2, "temperature": 0}
INDEX_QUERY = {"index": "tiny", "query_type": "count", "query": "alpha beta"}


def test_both_servers_with_a_key_answer_401_without_it_and_200_with_it(
        hf_target: object, local_index: CorpusIndex) -> None:
    from regurgitate.index.server import IndexService
    from regurgitate.index.server import make_server as index_server
    from regurgitate.model_server import make_server as model_server

    with model_server(target=hf_target, model_name="tiny", api_key=KEY) as model, \
            index_server(IndexService({"tiny": local_index}), api_key=KEY) as index:
        refusals = [_check_access(model.base_url, "/v1/completions", MODEL_QUERY),
                    _check_access(index.base_url, "/", INDEX_QUERY)]
    # the same check answered both (each in its clients' error shape)
    assert {scheme for scheme, _ in refusals} == {"Bearer"}
    assert all("needs 'Authorization: Bearer <key>'" in body for _, body in refusals)


@pytest.mark.slow
def test_both_commands_with_a_key_file_answer_401_without_it_and_200_with_it(
        tiny_model_dir: Path, local_index: CorpusIndex, tmp_path: Path) -> None:
    key_file = tmp_path / "server.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    access = ["--host", "127.0.0.1", "--port", "0", "--api-key-file", str(key_file)]
    servers = [(["serve", str(tiny_model_dir), *access], "stdout", "/v1/completions",
                MODEL_QUERY),
               (["index", "serve", f"tiny={local_index.path}", *access], "stderr", "/",
                INDEX_QUERY)]
    for args, stream, path, query in servers:
        proc, base = _start(args, stream)
        try:
            scheme, body = _check_access(base, path, query)
            assert scheme == "Bearer" and "needs 'Authorization: Bearer <key>'" in body
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert KEY not in err

