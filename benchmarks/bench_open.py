"""What the integrity checks cost when an index is opened.

    nice -n 15 python benchmarks/bench_open.py --mb 100 --work /tmp/bench_open
    python benchmarks/bench_open.py --index EXISTING_INDEX_DIR

Builds (unless ``--index`` is given) a byte-level index of ``--mb`` MB of this Python
installation's ``.py`` files, repeated as needed, then opens it ``--repeat`` times with the page
cache warm and prints the median of: the whole ``CorpusIndex.open``; the manifest check (sizes
and quick checksums: the whole file up to 256 KiB, else 64 blocks of 4 KiB); the structural
invariants of every shard (offsets, prefix table, metadata offsets, 4,096 adjacent
suffix-array pairs). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _docs(mb: float) -> Iterator[Any]:
    from regurgitate.types import Document

    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.rglob("*.py"))
    size = 0
    rounds = 0
    while size < mb * 1e6:
        for p in files:
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            yield Document(f"# copy {rounds}\n" + text, {"path": str(p), "line": rounds + 1})
            size += len(text.encode())
            if size >= mb * 1e6:
                return
        rounds += 1


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_open"))
    ap.add_argument("--index", type=Path, default=None, help="time an existing index")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    from regurgitate.corpus.tokenizer import ByteTokenizer
    from regurgitate.index import CorpusIndex, build_index
    from regurgitate.index import format as fmt

    path = args.index
    if path is None:
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        path = args.work / "ix"
        t0 = time.perf_counter()
        build_index(_docs(args.mb), path, ByteTokenizer())
        print(f"built {path} in {time.perf_counter() - t0:.1f} s")
    ix = CorpusIndex.open(path)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    print(f"index: {ix.num_tokens:,} tokens, {ix.num_docs:,} documents, {ix.num_shards} "
          f"shard(s), {size / 2**20:.0f} MiB on disk")
    manifest = fmt.read_manifest(path)
    whole = _median_ms(lambda: CorpusIndex.open(path), args.repeat)
    files = _median_ms(lambda: fmt.check_files(path, manifest, verify=False),
                       args.repeat) if manifest else 0.0
    shards = ix._shards  # the checks alone, on shards already mapped
    def invariants() -> None:
        for shard in shards:
            shard.check_invariants()

    inv = _median_ms(invariants, args.repeat)
    print(f"open, median of {args.repeat}: {whole:.1f} ms in all; manifest sizes + sampled "
          f"checksums {files:.1f} ms; shard invariants {inv:.1f} ms")


if __name__ == "__main__":
    main()
