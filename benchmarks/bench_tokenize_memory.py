"""Peak memory of BPE-tokenizing one very long single-line document.

    nice -n 15 python benchmarks/bench_tokenize_memory.py --mb 50

Trains a byte-level BPE (8k ids) on a few MB of this Python installation's sources, writes a
``--mb`` MB document with no newline (the same sources, newlines turned into spaces), and
tokenizes it with ``HFTokenizer.encode_batch`` in a child process, printing wall time and the
child's peak RSS. ``--chunk 0`` encodes the text in one piece (what regurgitate 0.1 did:
about 6.7 GB for 46 MB). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


def _child(tok_path: str, text_path: str, chunk: int) -> None:
    from regurgitate.corpus.tokenizer import HFTokenizer

    tok = HFTokenizer(tok_path)
    if chunk > 0:
        tok.max_chunk_chars = chunk
    else:
        tok.max_chunk_chars = 1 << 62
    text = Path(text_path).read_text(encoding="utf-8")
    t0 = time.perf_counter()
    ids = tok.encode_batch([text])[0]
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"chars": len(text), "tokens": int(ids.size), "wall_s": wall,
                      "peak_mib": peak}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0)
    ap.add_argument("--chunk", type=int, default=1 << 20,
                    help="max_chunk_chars (0: the whole text at once)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = Path(sysconfig.get_paths()["stdlib"])
    sources: list[str] = []
    size = 0
    for p in sorted(root.rglob("*.py")):
        try:
            sources.append(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        size += len(sources[-1])
        if size > 8e6:
            break
    work = Path(tempfile.mkdtemp(prefix="bench_tok_"))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(sources[: len(sources) // 3], trainer=trainers.BpeTrainer(
        vocab_size=8000, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(work / "tokenizer.json"))
    line = " ".join(sources).replace("\n", " ")
    reps = int(args.mb * 1e6 // len(line)) + 1
    (work / "line.txt").write_text((line * reps)[: int(args.mb * 1e6)], encoding="utf-8")
    proc = subprocess.run([sys.executable, __file__, "--child", str(work / "tokenizer.json"),
                           str(work / "line.txt"), str(args.chunk)],
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout)
    print(f"one line of {res['chars'] / 1e6:.1f} M chars -> {res['tokens']:,} tokens in "
          f"{res['wall_s']:.1f} s, peak RSS {res['peak_mib']:.0f} MiB "
          f"(max_chunk_chars={args.chunk or 'whole text'})")


if __name__ == "__main__":
    main()
