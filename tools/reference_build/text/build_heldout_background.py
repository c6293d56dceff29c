"""Build ``reference/data/heldout_background.json.gz``: stdlib docstring documents beyond the
reference corpus's byte budget (same source, never trained on), checked against the corpus.

Run with the Python that built the corpus (its stdlib fingerprint is compared with the
manifest's). Documents sharing any 50-token span with the corpus (a docstring repeated in
another module that did go into the corpus) are dropped and counted. Usage:

    .venv/bin/python -m tools.reference_build.text.build_heldout_background [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regurgitate import reference
from regurgitate.index import CorpusIndex
from regurgitate.reference.text.heldout_background import HELDOUT_FILE, read_heldout
from regurgitate.reference.text.manifest import read_manifest
from regurgitate.scan.request import cache_dir
from regurgitate.targets.reference import reference_index
from tools.reference_build.text.corpus_build import CorpusSpec
from tools.reference_build.text.heldout_background import build_heldout_background, write_heldout

SPAN_TOKENS = 50


def shared_spans(index: CorpusIndex, texts: list[str]) -> list[int]:
    """Per text, the number of maximal spans of >= 50 tokens it shares with the corpus."""
    seqs = index.tokenizer.encode_batch(texts)
    spans = index.maximal_spans_batch(seqs, min_tokens=SPAN_TOKENS, windows=False)
    return [len(s) for s in spans]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only verify the shipped file against the corpus index")
    args = ap.parse_args()
    out = reference.data_dir() / HELDOUT_FILE
    index = CorpusIndex.open(reference_index(cache_dir(), print))
    if not args.check:
        spec = CorpusSpec()
        build = read_manifest(reference.manifest_path()).build
        docs, meta = build_heldout_background(spec.seed, spec.background_bytes,
                                              spec.doc_chars, count=10_000, exhaust=True)
        if meta["stdlib_fingerprint"] != build["stdlib_fingerprint"]:
            print(f"stdlib {meta['stdlib_fingerprint']} differs from the corpus's "
                  f"{build['stdlib_fingerprint']}: run with Python {build['python_version']}",
                  file=sys.stderr)
            return 1
        counts = shared_spans(index, [d.text for d in docs])
        kept = [d for d, c in zip(docs, counts, strict=True) if c == 0]
        meta["dropped_sharing_a_50_token_span"] = len(docs) - len(kept)
        meta["documents"] = len(kept)
        write_heldout(Path(out), kept, meta)
        print(f"wrote {out}: {len(kept)} documents ({len(docs) - len(kept)} dropped for "
              f"sharing a {SPAN_TOKENS}-token span with the corpus), "
              f"{out.stat().st_size} bytes")
    docs, meta = read_heldout(Path(out))
    bad = sum(1 for c in shared_spans(index, [d.text for d in docs]) if c)
    print(f"check: {len(docs)} documents, {bad} share a {SPAN_TOKENS}-token span with the corpus")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
