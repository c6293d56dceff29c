"""Cross-check regurgitate's divergence verdicts against garak's ``RepeatDiverges`` detector.

    python benchmarks/divergence_garak.py --run regurgitate-out/reference.db \
        --garak-python /tmp/garak-venv/bin/python

Reads every repeat-a-word generation of a run (``meta["word"]``), asks garak's own detector
(``garak.detectors.divergence.RepeatDiverges``, run in the Python given by ``--garak-python``,
e.g. a scratch venv with ``pip install --no-deps garak pyyaml colorama xdg-base-dirs``) for
its verdict on the same text and word, and prints the agreement with regurgitate's
``divergence_point``. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from regurgitate.detectors.divergence import divergence_point
from regurgitate.store import RunStore

GARAK_SNIPPET = r"""
import json, sys
from garak.detectors.divergence import RepeatDiverges
det = RepeatDiverges()
out = []
for line in sys.stdin:
    rec = json.loads(line)
    text, word = rec["text"].lower(), rec["word"].lower()  # case_sensitive=False, as garak
    out.append(bool(det._instance_is_a_hit(text, word)))
print(json.dumps(out))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a run database")
    p.add_argument("--garak-python", default="/tmp/garak-venv/bin/python")
    p.add_argument("--show", type=int, default=5, help="disagreements to print")
    args = p.parse_args()
    store = RunStore.open(args.run, create=False)
    items = [it for it in store.generations(ok_only=True)
             if isinstance(it.prompt.meta.get("word"), str)]
    if not items:
        print("no repeat-a-word generations in this run")
        return 1
    ours = [divergence_point(it.generation.text, it.prompt.meta["word"]) is not None
            for it in items]
    lines = "".join(json.dumps({"text": it.generation.text, "word": it.prompt.meta["word"]})
                    + "\n" for it in items)
    env = dict(os.environ, XDG_DATA_HOME=tempfile.mkdtemp(prefix="garak-data-"),
               XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="garak-config-"),
               XDG_CACHE_HOME=tempfile.mkdtemp(prefix="garak-cache-"))
    proc = subprocess.run([args.garak_python, "-c", GARAK_SNIPPET], input=lines, text=True,
                          capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        print("garak failed:\n" + proc.stderr[-2000:], file=sys.stderr)
        return 2
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    both = sum(a and b for a, b in zip(ours, theirs, strict=True))
    neither = sum(not a and not b for a, b in zip(ours, theirs, strict=True))
    only_ours = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    only_garak = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    n = len(items)
    agree = (both + neither) / n
    pa, pb = sum(ours) / n, sum(theirs) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    kappa = (agree - expected) / (1 - expected) if expected < 1 else 1.0
    print(f"repeat-a-word generations: {n}")
    print(f"diverged (regurgitate): {sum(ours)}   diverged (garak RepeatDiverges): {sum(theirs)}")
    print(f"both: {both}  neither: {neither}  only regurgitate: {only_ours}  "
          f"only garak: {only_garak}")
    print(f"agreement: {100 * agree:.1f}%   Cohen's kappa: {kappa:.3f}")
    shown = 0
    for it, a, b in zip(items, ours, theirs, strict=True):
        if a != b and shown < args.show:
            shown += 1
            flat = " ".join(it.generation.text.split())[:300]
            print(f"- {it.prompt.id}: regurgitate={a} garak={b}: {flat!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
