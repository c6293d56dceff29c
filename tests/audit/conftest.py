"""Audit tests: works built from the bundled reference manifest, one index cache per session,
and the reference model served over HTTP for the API paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def manifest() -> Any:
    from regurgitate import reference

    return reference.load_manifest()


def planted(manifest: Any, copies: int, n: int) -> list[Any]:
    kind = "heldout" if copies == 0 else "passage"
    return [it for it in manifest.items if it.kind == kind and it.copies == copies][:n]


def composite(manifest: Any) -> tuple[str, int, int]:
    """Held-out passages with one passage planted 100 times in the middle: (text, start,
    end) of the planted stretch."""
    held = [it.text for it in planted(manifest, 0, 6)]
    p100 = planted(manifest, 100, 1)[0].text
    text = " ".join(held[:3]) + " " + p100 + " " + " ".join(held[3:])
    start = text.index(p100)
    return text, start, start + len(p100)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def reference_server(cache_dir: Path) -> Iterator[Any]:
    """`regurgitate serve`'s server over the bundled reference model, on a free port."""
    from regurgitate.model_server import make_server
    from regurgitate.targets.reference import ReferenceTarget

    target = ReferenceTarget.from_spec("", {})
    srv = make_server(target=target, model_name="ref", batch_size=16).start()
    yield srv
    srv.stop()
