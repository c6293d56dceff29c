"""Fixtures of the trace page's tests: the reference index in a test cache, a small index
whose documents carry HTML and script payloads, and a real trace server on 127.0.0.1."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from regurgitate.types import Document

#: the payloads a hostile answer or corpus document carries; any that ran would set
#: document.title to PWNED or mark the body with data-pwned
PAYLOADS = ("<script>document.title='PWNED'</script>",
            "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
            "</textarea></mark><svg onload=\"document.title='PWNED'\">")
#: the passage planted in the hostile corpus (well over 50 tokens)
PLANTED = ("The lantern keeper of Orrowmere counted seventeen barges on the river every "
           "morning, wrote their names in a green ledger, and sent the ledger to the harbour "
           "master each Friday with a jar of pickled plums. Nobody in Orrowmere ever asked "
           "why the plums were needed, and the harbour master never said, but the custom "
           "outlived three keepers and two floods.")


@pytest.fixture(scope="session")
def trace_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regurgitate-cache")
    os.environ["REGURGITATE_CACHE"] = str(path)  # never ~/.cache in tests
    os.environ["HF_HUB_OFFLINE"] = "1"
    return path


@pytest.fixture(scope="session")
def reference_idx(trace_cache: Path) -> Path:
    from regurgitate.targets.reference import reference_index

    return reference_index(trace_cache, lambda _: None)


@pytest.fixture(scope="session")
def hostile_idx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Documents with the planted passage inside HTML and script payloads, and metadata
    (id, title, url) that are payloads too."""
    from regurgitate import reference
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index

    out = tmp_path_factory.mktemp("hostile") / "idx"
    build_index(hostile_docs(), out, load_tokenizer(reference.model_dir()))
    return out


def hostile_docs() -> list[Document]:
    docs = [Document(f"{PAYLOADS[k % 3]} {PLANTED} {PAYLOADS[(k + 1) % 3]}",
                     {"id": f"evil-{k}{PAYLOADS[1]}", "title": PAYLOADS[0],
                      "url": "javascript:document.title='PWNED'"}) for k in range(3)]
    docs += [Document(f"Background document {k} about barges and plums.", {"id": f"bg-{k}"})
             for k in range(5)]
    return docs


def make_engine(index: Path | str | None, target: str | None = None, *,
                make_target: Callable[[str], Any] | None = None, **settings: Any) -> Any:
    """An engine built as `regurgitate trace` builds it (the one index opener, the target
    spec builder unless ``make_target`` is given)."""
    from regurgitate.targets.spec import make_target as from_spec
    from regurgitate.trace.engine import TraceEngine, TraceSettings, open_text_index

    return TraceEngine(index, target, TraceSettings(**settings), open_index=open_text_index,
                       make_target=make_target or from_spec)


@contextmanager
def serving(engine: Any, runs_dir: Path, api_key: str | None = None) -> Iterator[str]:
    """A real trace server on 127.0.0.1 (a free port); its base URL."""
    from regurgitate.trace.api import TraceApp
    from regurgitate.trace.server import bind_trace_server

    with bind_trace_server(TraceApp(engine, runs_dir), "127.0.0.1", 0,
                           api_key=api_key) as server:
        yield server.base_url
    engine.close()


@pytest.fixture()
def serve(tmp_path: Path) -> Callable[..., Any]:
    def start(engine: Any, api_key: str | None = None) -> Any:
        return serving(engine, tmp_path / "runs", api_key)
    return start


def check_json(run_cli: Any, tmp_path: Path, index: Path, text: str) -> dict[str, Any]:
    """``regurgitate check --json -q`` of ``text`` against ``index``: what the page must
    equal."""
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    code, out, _ = run_cli(["check", str(tmp_path / "t.txt"), "--index", str(index),
                            "--json", "-q"])
    assert code == 0
    result: dict[str, Any] = json.loads(out)
    return result
