"""Build an index as independent parts (one unit of work each), then list them in one manifest.

Every part is a complete single-index directory built by the ordinary builder
(:func:`regurgitate.index.build_index`) from a contiguous group of input files, so parts can
be built on different machines (Ray tasks; the output directory must be on storage they all
see). The result keeps each part under ``part-NNNNN/`` and hard-links the part's shard files
into the top directory as shards ``0..n-1`` of one infini-gram-layout index, with one
``manifest.json`` listing them (plus ``"parts"``): ``CorpusIndex.open`` reads it as any
sharded index, and :class:`~regurgitate.executors.fanout.FanOutIndex` serves each part from
its own actor. Document ids follow the order of the inputs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError
from regurgitate.executors.base import Executor
from regurgitate.index import format as fmt
from regurgitate.index import output
from regurgitate.safe_paths import building

PART_PREFIX = fmt.PART_PREFIX


@dataclass(frozen=True)
class BuildPart:
    """A unit of work: index ``inputs`` into ``out_dir`` (runs wherever the executor puts it)."""

    inputs: tuple[str, ...]
    out_dir: str
    tokenizer: str
    text_field: str = "text"
    shard_tokens: int = 2**40
    index_format: str = "sa"

    def __call__(self) -> dict[str, Any]:
        from regurgitate.corpus.readers import read_corpus
        from regurgitate.corpus.tokenizer import load_tokenizer
        from regurgitate.index import build_index

        docs = read_corpus([Path(p) for p in self.inputs], text_field=self.text_field)
        info = build_index(docs, Path(self.out_dir), load_tokenizer(self.tokenizer),
                           shard_tokens=self.shard_tokens, overwrite=True,
                           index_format=self.index_format)
        return info.manifest


def split_inputs(inputs: Sequence[Path], parts: int | None) -> list[tuple[str, ...]]:
    """Contiguous groups of input files, ``parts`` of them (default: one per file)."""
    files = [str(p) for p in inputs]
    n = len(files) if parts is None else parts
    if n < 1 or n > len(files):
        raise ConfigError(f"cannot make {n} parts of {len(files)} input(s)",
                          hint="give at least as many input files as parts")
    bounds = [round(k * len(files) / n) for k in range(n + 1)]
    return [tuple(files[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def build_sharded(inputs: Sequence[Path], out_dir: Path, tokenizer: str, executor: Executor,
                  *, parts: int | None = None, text_field: str = "text",
                  shard_tokens: int = 2**40, overwrite: bool = False,
                  index_format: str = "sa") -> dict[str, Any]:
    """Build the parts with ``executor`` and assemble them; returns the top manifest."""
    out_dir = Path(out_dir)
    output.check_output(out_dir, overwrite)  # --force replaces only an index
    started = time.time()
    groups = split_inputs(inputs, parts)
    with building(out_dir, lambda: output.check_output(out_dir, overwrite)) as tmp:
        units = [BuildPart(g, str(tmp / f"{PART_PREFIX}{k:05d}"), tokenizer, text_field,
                           shard_tokens, index_format) for k, g in enumerate(groups)]
        manifests = executor.run(units)
        manifest = assemble(tmp, [Path(u.out_dir) for u in units], manifests)
        manifest["build_seconds"] = round(time.time() - started, 3)
        (tmp / fmt.MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def assemble(top: Path, part_dirs: list[Path], manifests: list[dict[str, Any]]
             ) -> dict[str, Any]:
    """Hard-link every part's shards into ``top`` as shards 0..n-1 and describe them."""
    first = manifests[0]
    for m in manifests[1:]:
        if m["tokenizer"] != first["tokenizer"] or m["dtype"] != first["dtype"]:
            raise ConfigError("index parts were built with different tokenizers")
        if m.get("format") != first.get("format"):
            raise ConfigError("index parts were built in different formats")
    shards: list[dict[str, Any]] = []
    for part, m in zip(part_dirs, manifests, strict=True):
        for rec in m["shards"]:
            new_id = len(shards)
            files = {}
            for name, desc in rec["files"].items():
                kind = name.rsplit(".", 1)[0]
                target = top / f"{kind}.{new_id}"
                os.link(part / name, target)
                files[target.name] = desc
            shards.append({**rec, "id": new_id, "files": files})
    if (part_dirs[0] / "tokenizer.json").is_file():
        os.link(part_dirs[0] / "tokenizer.json", top / "tokenizer.json")
    return {
        "format": first.get("format", fmt.FORMAT_NAME), "version": fmt.FORMAT_VERSION,
        "tokenizer": first["tokenizer"], "dtype": first["dtype"],
        "num_docs": sum(int(m["num_docs"]) for m in manifests),
        "num_tokens": sum(int(m["num_tokens"]) for m in manifests),
        "shards": shards, "parts": [p.name for p in part_dirs],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
