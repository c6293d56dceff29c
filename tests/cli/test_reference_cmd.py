"""The bundled sets in plain sight (issue 41): `regurgitate reference` says where the model,
corpus and index live and lists the planted items with their copies; `index info reference`
works as `--index reference` does elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

from regurgitate import reference

from .conftest import RunCli


def test_reference_lists_where_the_bundled_set_lives_and_its_planted_items(
        run_cli: RunCli, cache_dir: Path) -> None:
    code, out, err = run_cli(["reference", "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert Path(data["model"]) == reference.model_dir()
    assert Path(data["corpus"]) == reference.corpus_path() and Path(data["index"]).is_dir()
    manifest = reference.load_manifest()
    assert len(data["items"]) == len(manifest.items)
    hundred = next(r for r in data["items"] if r["copies"] == 100)
    assert len(hundred["documents"]) == 100
    code, out, _ = run_cli(["reference"])
    assert code == 0 and "Planted items" in out and "corpus:" in out


def test_index_info_reference_describes_the_bundled_index(run_cli: RunCli,
                                                          cache_dir: Path) -> None:
    code, out, err = run_cli(["index", "info", "reference", "--json"])
    assert code == 0, err
    assert json.loads(out)["num_docs"] > 0
