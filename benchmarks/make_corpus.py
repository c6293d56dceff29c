"""A reproducible corpus of realistic text of any size, for the scale benchmarks.

    python benchmarks/make_corpus.py --mb 1000 --out /work/bench-data/c1g.jsonl [--seed 0]

Text comes from the documentation, licence and source files on this machine (.txt .md .rst
.py .c .h .html ...; /proc, /sys, /dev, /tmp, /run and /work skipped), split into
paragraphs. Documents are assembled from paragraphs drawn with a seeded generator (a run of
consecutive paragraphs of one file, as real documents are, then a jump to another file) and
lightly mutated: about 3 % of the words are replaced by another word of the pool and a few
digits changed, so a corpus larger than the machine's text does not repeat itself verbatim
(as a crawl does, it holds near-duplicates). The same seed and the same machine give the
same corpus; the first line of the output file records the pool and seed (as a document
with a "generator" field, like any other record).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

EXTS = {".py", ".txt", ".md", ".rst", ".c", ".h", ".html", ".cpp", ".js", ".pyi", ".css"}
SKIP = ("/proc", "/sys", "/dev", "/tmp", "/run", "/work", "/root")
_WORD = re.compile(r"[A-Za-z]{3,}")


def text_files(limit_mb: float) -> list[Path]:
    """Text files of this machine, sorted, until ``limit_mb`` MB of them (the pool)."""
    files: list[Path] = []
    seen: set[Path] = set()
    total = 0
    for root in sorted(Path("/").iterdir()):
        if str(root).startswith(SKIP) or not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if p.suffix not in EXTS:
                continue
            try:
                real = p.resolve()
                size = real.stat().st_size
            except OSError:
                continue
            if real in seen or not 200 <= size <= 2_000_000 or not real.is_file():
                continue
            seen.add(real)
            files.append(real)
            total += size
            if total >= limit_mb * 1e6:
                return files
    return files


def paragraphs(files: list[Path]) -> list[list[str]]:
    out = []
    for p in files:
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        paras = [x for x in re.split(r"\n\s*\n", text) if x.strip()]
        if paras:
            out.append(paras)
    return out


def mutate(text: str, rng: random.Random, vocab: list[str], rate: float) -> str:
    def swap(m: re.Match[str]) -> str:
        return rng.choice(vocab) if rng.random() < rate else m.group(0)

    text = _WORD.sub(swap, text)
    if rng.random() < 0.3:
        text = re.sub(r"\d", lambda m: str(rng.randrange(10)) if rng.random() < 0.2
                      else m.group(0), text)
    return text


def generate(out: Path, mb: float, seed: int, pool_mb: float, rate: float) -> int:
    rng = random.Random(seed)
    files = text_files(pool_mb)
    pool = paragraphs(files)
    vocab = sorted({w for paras in pool[:2000] for para in paras[:50]
                    for w in _WORD.findall(para)})
    total = 0
    with out.open("w", encoding="utf-8") as f:
        head = {"text": f"generated corpus: seed {seed}, pool of {len(files)} files",
                "generator": {"seed": seed, "pool_files": len(files), "rate": rate}}
        f.write(json.dumps(head) + "\n")
        doc = 0
        while total < mb * 1e6:
            parts = []
            for _ in range(rng.randint(1, 4)):  # runs of consecutive paragraphs
                paras = pool[rng.randrange(len(pool))]
                start = rng.randrange(len(paras))
                parts.extend(paras[start:start + rng.randint(1, 30)])
            text = mutate("\n\n".join(parts), rng, vocab, rate)
            f.write(json.dumps({"text": text, "id": f"gen-{seed}-{doc}"}) + "\n")
            total += len(text.encode("utf-8"))
            doc += 1
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, required=True, help="MB of text to write")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool-mb", type=float, default=2000, help="MB of files to draw from")
    ap.add_argument("--rate", type=float, default=0.03, help="share of words replaced")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = generate(args.out, args.mb, args.seed, args.pool_mb, args.rate)
    print(f"wrote {n / 1e6:.1f} MB of text to {args.out}")


if __name__ == "__main__":
    main()
