"""Membership evidence on the bundled reference model: per-text AUCs of every signal, the blind
baseline, dataset inference for once-seen against held-out background text, and the
false-positive rate under the null.

Members: passages of the corpus's background documents (trained on, one copy each), from as
many randomly chosen documents as there are held-out ones. Non-members: passages of the
shipped held-out background (same source, never trained on). The ReCaLL prefix comes from a
few held-out documents that are then left out of every set. Features are cached in
``--cache`` (npz) so the statistics can be rerun without the model.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dataset_inference_reference.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from regurgitate import reference
from regurgitate.index import CorpusIndex
from regurgitate.metrics.corpus_signals import index_token_counts, smoothed_frequencies
from regurgitate.metrics.membership_evidence.blind import blind_baseline, shift_warning
from regurgitate.metrics.membership_evidence.dataset_inference import (
    dataset_inference,
    null_false_positive_rate,
)
from regurgitate.metrics.membership_evidence.features import (
    MEMBER_IF_HIGHER,
    build_prefix,
    text_features,
)
from regurgitate.metrics.membership_evidence.passages import Passage, reference_sets
from regurgitate.metrics.roc import roc_auc
from regurgitate.runtimes.scoring import HFScorer
from regurgitate.scan.request import cache_dir
from regurgitate.targets.reference import reference_index

PREFIX_DOCS = 2
CHUNK = 48


def _first(passages: list[Passage], per_doc: int) -> list[Passage]:
    """At most ``per_doc`` passages of each document, the first ones."""
    seen: dict[str, int] = {}
    out = []
    for p in passages:
        seen[p.group] = seen.get(p.group, 0) + 1
        if seen[p.group] <= per_doc:
            out.append(p)
    return out


def features(args: argparse.Namespace) -> dict[str, np.ndarray]:
    cache = Path(args.cache)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    members, heldout = reference_sets()
    rng = np.random.default_rng(args.seed)
    h_docs = sorted({p.group for p in heldout})
    prefix_docs = set(rng.choice(h_docs, PREFIX_DOCS, replace=False).tolist())
    prefix_texts = [p.text for p in heldout if p.group in prefix_docs]
    heldout = [p for p in heldout if p.group not in prefix_docs]
    m_docs = sorted({p.group for p in members})
    n_docs = len({p.group for p in heldout}) if args.member_docs == 0 else args.member_docs
    chosen = set(rng.choice(m_docs, n_docs, replace=False).tolist())
    members = [p for p in members if p.group in chosen]
    if args.per_doc:
        members, heldout = _first(members, args.per_doc), _first(heldout, args.per_doc)
    scorer = HFScorer(reference.model_dir(), dtype="float32", batch_size=16)
    index = CorpusIndex.open(reference_index(cache_dir(), print))
    freqs = smoothed_frequencies(index_token_counts(index, scorer.lm.model.config.vocab_size))
    prefix = build_prefix(scorer, prefix_texts)
    texts = [p.text for p in members] + [p.text for p in heldout]
    t0 = time.perf_counter()
    partial = cache.with_suffix(".partial.npz")
    done: list[np.ndarray] = []
    names: tuple[str, ...] = ()
    if partial.is_file():  # resume an interrupted run (same seed and sets)
        with np.load(partial, allow_pickle=False) as z:
            if int(z["n"]) == len(texts):
                done, names = list(z["raw"]), tuple(str(n) for n in z["names"])
    for start in range(len(done), len(texts), CHUNK):
        fm = text_features(scorer, texts[start:start + CHUNK], frequencies=freqs,
                           prefix=prefix)
        done.extend(fm.raw)
        names = fm.names
        np.savez(partial, raw=np.array(done), names=np.array(names), n=np.array(len(texts)))
        print(f"scored {len(done)} of {len(texts)} passages", flush=True)
    raw = np.array(done)
    sign = np.array([1.0 if MEMBER_IF_HIGHER[n] else -1.0 for n in names])
    print(f"scored {len(texts)} passages in {time.perf_counter() - t0:.0f} s")
    out = {"names": np.array(names), "values": raw * sign, "raw": raw,
           "label": np.r_[np.ones(len(members)), np.zeros(len(heldout))].astype(np.int64),
           "group": np.array([p.group for p in members] + [p.group for p in heldout]),
           "text": np.array(texts), "prefix_tokens": np.array(len(prefix))}
    np.savez_compressed(cache, **out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/regurgitate-di-reference.npz")
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--member-docs", type=int, default=0,
                    help="member documents to sample (0: as many as held-out ones)")
    ap.add_argument("--per-doc", type=int, default=2,
                    help="passages per document at most (0: all)")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--splits", type=int, default=20)
    args = ap.parse_args()
    z = features(args)
    names = [str(n) for n in z["names"]]
    x, y, g = z["values"], z["label"], [str(v) for v in z["group"]]
    texts = [str(t) for t in z["text"]]
    mem, non = y == 1, y == 0
    report: dict[str, object] = {
        "members": int(mem.sum()), "nonmembers": int(non.sum()),
        "member_docs": len({g[i] for i in np.nonzero(mem)[0]}),
        "nonmember_docs": len({g[i] for i in np.nonzero(non)[0]}),
        "prefix_tokens": int(z["prefix_tokens"]),
    }
    aucs = {n: roc_auc(x[:, j], y.tolist()) for j, n in enumerate(names)}
    blind = blind_baseline([t for t, m in zip(texts, mem, strict=True) if m],
                           [t for t, m in zip(texts, mem, strict=True) if not m],
                           member_groups=[v for v, m in zip(g, mem, strict=True) if m],
                           nonmember_groups=[v for v, m in zip(g, mem, strict=True) if not m],
                           seed=args.seed)
    report["signal_auc"] = aucs
    report["blind_baseline_auc"] = blind.auc
    report["warnings"] = [w for n, a in aucs.items()
                          if (w := shift_warning(n, a, blind.auc)) is not None]
    t0 = time.perf_counter()
    di = dataset_inference(x[mem], x[non], features=names,
                           suspect_groups=[v for v, m in zip(g, mem, strict=True) if m],
                           control_groups=[v for v, m in zip(g, mem, strict=True) if not m],
                           splits=args.splits, seed=args.seed, blind_baseline_auc=blind.auc)
    report["dataset_inference"] = {k: v for k, v in di.to_json().items() if k != "splits"}
    report["dataset_inference_s"] = round(time.perf_counter() - t0, 2)
    # smaller suspect sets: how many works does the test need?
    small = {}
    rng = np.random.default_rng(args.seed + 1)
    m_docs = sorted({g[i] for i in np.nonzero(mem)[0]})
    n_docs = sorted({g[i] for i in np.nonzero(non)[0]})
    for k in (10, 20, 40):
        ps = []
        for _ in range(20):
            ms = set(rng.choice(m_docs, k, replace=False).tolist())
            ns = set(rng.choice(n_docs, k, replace=False).tolist())
            sm = np.array([v in ms for v in g]) & mem
            sn = np.array([v in ns for v in g]) & non
            r = dataset_inference(x[sm], x[sn], suspect_groups=[g[i] for i in np.nonzero(sm)[0]],
                                  control_groups=[g[i] for i in np.nonzero(sn)[0]],
                                  splits=args.splits, seed=int(rng.integers(2**31)))
            ps.append(r.p_value)
        small[f"{k}_docs_each"] = {"median_p": float(np.median(ps)),
                                   "share_p_below_0.05": float(np.mean(np.array(ps) < 0.05))}
    report["dataset_inference_by_size"] = small
    t0 = time.perf_counter()
    pool, pool_g = x[non], [v for v, m in zip(g, mem, strict=True) if not m]
    null = null_false_positive_rate(pool, pool_g, trials=args.trials, splits=args.splits,
                                    seed=args.seed)
    single = null_false_positive_rate(pool, pool_g, trials=args.trials, splits=1,
                                      seed=args.seed)
    report["null"] = {"trials": null.trials, "alpha": null.alpha,
                      "fpr_median_p": null.false_positive_rate,
                      "fpr_single_split": single.false_positive_rate,
                      "single_split_p_quartiles": np.quantile(single.p_values,
                                                              [0.25, 0.5, 0.75]).tolist(),
                      "seconds": round(time.perf_counter() - t0, 1)}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
