"""The serving layer on its own, with a tiny handler on 127.0.0.1: the port it reports, JSON in
and out, keep-alive, the bearer check, the body limit, one error shape, the exposure rule and
a stop that ends idle connections."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from regurgitate.errors import ConfigError
from regurgitate.serving import (
    MAX_BODY_BYTES,
    JSONHandler,
    Server,
    bind_server,
    read_api_key,
    server_api_key,
)

KEY = "serving-test-key-5b1e"


class Echo(JSONHandler):
    """GET: the app's name; POST /echo: the body; POST /boom: a bug in the handler."""

    max_body_bytes = 1024

    def on_get(self) -> None:
        self.send_json(200, {"name": self.app["name"], "path": self.path})

    def on_post(self, body: Any) -> None:
        if self.path == "/boom":
            raise ZeroDivisionError
        self.send_json(200, {"echo": body})


@pytest.fixture()
def echo() -> Iterator[Server]:
    with bind_server(Echo, "127.0.0.1", 0, app={"name": "echo"}) as server:
        yield server


def test_port_zero_binds_a_free_port_and_reports_it(echo: Server) -> None:
    assert echo.port > 0 and echo.base_url == f"http://127.0.0.1:{echo.port}"
    reply = httpx.get(f"{echo.base_url}/x")
    assert reply.status_code == 200
    assert reply.json() == {"name": "echo", "path": "/x"}
    assert reply.headers["content-type"] == "application/json"


def test_one_keep_alive_connection_serves_many_requests(echo: Server) -> None:
    with httpx.Client(base_url=echo.base_url) as client:
        for i in range(5):
            assert client.post("/echo", json={"i": i}).json() == {"echo": {"i": i}}
        # errors that read the whole body keep the connection too
        assert client.post("/echo", content=b"{not json").status_code == 400
        assert client.get("/").status_code == 200
    assert echo.httpd.accepted == 1


def test_errors_have_one_json_shape(echo: Server) -> None:
    with httpx.Client(base_url=echo.base_url) as client:
        answers = {
            400: client.post("/echo", content=b"{not json"),
            501: client.put("/echo", json={}),  # a method no server answers
            500: client.post("/boom", json={}),
        }
        # a bug in a handler answers 500 and the server goes on serving
        assert client.post("/echo", json=[1]).json() == {"echo": [1]}
    no_body = httpx.post(f"{echo.base_url}/echo")
    assert no_body.status_code == 400 and "JSON body" in no_body.json()["error"]["message"]
    for status, reply in answers.items():
        assert reply.status_code == status, reply.text
        error = reply.json()["error"]
        assert isinstance(error["message"], str) and error["type"]
    assert answers[500].json()["error"] == {"message": "internal server error: "
                                            "ZeroDivisionError", "type": "server_error"}


def test_a_body_over_the_limit_is_refused_with_413(echo: Server) -> None:
    with httpx.Client(base_url=echo.base_url) as client:
        ok = client.post("/echo", json="x" * 1000)
        big = client.post("/echo", json="x" * 1100)
    assert ok.status_code == 200
    assert big.status_code == 413 and "at most 1024" in big.json()["error"]["message"]
    assert big.headers["connection"] == "close"  # its body was not read
    # every server gets the same default limit
    assert JSONHandler.max_body_bytes == MAX_BODY_BYTES == 32 << 20


def test_chunked_bodies_are_refused_with_411(echo: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": 1}'

    reply = httpx.post(f"{echo.base_url}/echo", content=chunks())
    assert reply.status_code == 411


def test_a_key_is_required_when_set(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key = read_api_key(None, str(key_file))
    assert key == KEY
    with bind_server(Echo, "127.0.0.1", 0, app={"name": "echo"}, api_key=key) as server, \
            httpx.Client(base_url=server.base_url) as client:
        for header in (None, f"Bearer {KEY}x", KEY, f"bearer {KEY}", f"Basic {KEY}"):
            headers = {} if header is None else {"Authorization": header}
            for reply in (client.get("/", headers=headers),
                          client.post("/echo", json={"a": 1}, headers=headers)):
                assert reply.status_code == 401
                assert reply.headers["www-authenticate"].startswith("Bearer ")
                assert reply.json()["error"]["type"] == "authentication_error"
                assert KEY not in reply.text
        good = {"Authorization": f"Bearer {KEY}"}
        assert client.post("/echo", json={"a": 1}, headers=good).json() == {"echo": {"a": 1}}
        assert server.httpd.accepted == 1  # a 401 drains the body: the connection goes on


def test_key_files_and_variables_that_hold_no_key_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty"):
        server_api_key("127.0.0.1", api_key_file=str(empty))
    with pytest.raises(ConfigError, match="cannot read API key file"):
        server_api_key("127.0.0.1", api_key_file=str(tmp_path / "missing"))
    monkeypatch.delenv("SERVING_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="SERVING_TEST_KEY is empty or unset"):
        server_api_key("127.0.0.1", api_key_env="SERVING_TEST_KEY")
    with pytest.raises(ConfigError, match="give the key once"):
        server_api_key("127.0.0.1", "SERVING_TEST_KEY", str(empty))
    assert server_api_key("127.0.0.1") is None


def test_beyond_loopback_needs_a_key_or_an_explicit_open_server(
        caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError) as refused:
        bind_server(Echo, "0.0.0.0", 0, serves="the echo")
    message = str(refused.value)
    assert "\n" not in message and "the echo" in message
    assert "--api-key-file" in message and "--insecure-no-auth" in message
    assert server_api_key("0.0.0.0", api_key_file=None, insecure_no_auth=True) is None
    # serving open is warned about at every start
    with caplog.at_level(logging.WARNING, logger="regurgitate.serving"):
        for _ in range(2):
            with bind_server(Echo, "127.0.0.1", 0, app={"name": "e"}, insecure_no_auth=True):
                pass
    warnings = [r for r in caplog.records if "--insecure-no-auth" in r.getMessage()]
    assert len(warnings) == 2


def test_a_port_in_use_is_a_config_error(echo: Server) -> None:
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{echo.port}"):
        bind_server(Echo, "127.0.0.1", echo.port)


def test_stop_ends_idle_keep_alive_connections_and_the_listener() -> None:
    server = bind_server(Echo, "127.0.0.1", 0, app={"name": "echo"}).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/")
        first = conn.getresponse()
        assert first.status == 200 and json.loads(first.read())["name"] == "echo"
        assert server.httpd.open_connections == 1  # kept alive, waiting for a next request
        server.stop(timeout=30)
        assert server.httpd.open_connections == 0
        assert conn.sock is not None and conn.sock.recv(1) == b""  # the server ended it
    finally:
        conn.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    server.stop()  # idempotent


def test_sigterm_stops_a_server_in_the_foreground_cleanly() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers belong to the main thread")
    server = bind_server(Echo, "127.0.0.1", 0, app={"name": "echo"})
    before = signal.getsignal(signal.SIGTERM)
    answers: list[int] = []

    def client() -> None:
        # the socket listens from bind_server on: this waits until serve_forever answers
        with httpx.Client(base_url=server.base_url, timeout=60) as c:
            answers.append(c.get("/").status_code)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=client)
    thread.start()
    server.serve_forever()  # returns on SIGTERM (in the main thread, as in a command)
    thread.join()
    assert answers == [200]
    assert signal.getsignal(signal.SIGTERM) is before
    assert server.httpd.open_connections == 0
