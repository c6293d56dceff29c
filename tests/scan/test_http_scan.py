"""A scan over HTTP: the reference model served on 127.0.0.1 by `regurgitate serve`'s server,
with injected faults, scanned through the OpenAI-compatible target."""

from __future__ import annotations

from pathlib import Path

import pytest

from regurgitate import reference
from regurgitate.cli.main import main
from regurgitate.model_server import make_server
from regurgitate.model_server.faults import FaultPlan
from regurgitate.store import RunStore

SECRET = "sk-test-do-not-store-0123456789"


def test_scan_through_a_faulty_server_completes_and_never_stores_the_key(
        tmp_path: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGURGITATE_TEST_KEY", SECRET)
    plan = FaultPlan(schedule=("500", "429", "malformed", "drop", None, "500"),
                     retry_after=0.1, stall_s=0.5)
    server = make_server(str(reference.model_dir()), faults=plan, api_key=SECRET,
                         model_name="ref")
    db = tmp_path / "http.db"
    html = tmp_path / "http.html"
    with server:
        url = (f"openai:{server.url}?model=ref&api_key_env=REGURGITATE_TEST_KEY"
               "&backoff_base=0.05&backoff_max=0.2&concurrency=4")
        try:
            main(["scan", "--target", url, "--attack", "divergence",
                  "--set", "divergence.words=poem,book", "--set", "divergence.repeats=1,3",
                  "--set", "divergence.max_new_tokens=48", "--run", str(db),
                  "--html", str(html)])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert sum(server.faults.injected.values()) >= 5
    with RunStore.open(db, create=False) as store:
        items = list(store.generations(ok_only=False))
        assert len(items) == 2 * 2 * 3 and all(it.generation.ok for it in items)
        assert store.pending_prompts() == []
        assert SECRET not in store.spec().target
    for path in (db, html, tmp_path / "http.db-wal"):
        if path.exists():
            assert SECRET.encode() not in path.read_bytes()
    assert SECRET not in out + err
