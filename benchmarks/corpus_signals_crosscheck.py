"""Cross-check DC-PDD and ReCaLL against their authors' published formulas.

Re-implemented here from the authors' scripts (read for the formulas, not copied):
zhang-wei-chao/DC-PDD ``com_det_sco.py`` (first occurrence of each token, ``p * log(1/f)``
with add-one smoothed frequencies ``(count + 1) / (sum + V)``, clipped at ``a``, mean) and
ruoyuxie/recall ``src/run.py`` (``-loss`` of the text with the prefix's labels masked to
-100, divided by ``-loss`` of the text alone, both from ``model(ids, labels=...)``). Same model
(the bundled reference model), same token ids (BOS + text, BOS + prefix + text), on 16
member and 16 held-out passages; the token counts are checked against a plain re-tokenization
of the corpus. Prints the largest absolute difference per signal (must be <= 1e-6).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/corpus_signals_crosscheck.py
"""

from __future__ import annotations

import numpy as np
import torch

from regurgitate import reference
from regurgitate.index import CorpusIndex
from regurgitate.metrics.corpus_signals import index_token_counts, smoothed_frequencies
from regurgitate.metrics.membership_evidence.features import build_prefix, text_features
from regurgitate.metrics.membership_evidence.passages import reference_sets
from regurgitate.runtimes.scoring import HFScorer
from regurgitate.scan.request import cache_dir
from regurgitate.targets.reference import reference_index

A = 0.01


def authors_dc_pdd(model: torch.nn.Module, input_ids: list[int], fre_dis_smo: np.ndarray) -> float:
    ids = torch.tensor(input_ids).unsqueeze(0)
    with torch.no_grad():
        logits = model(ids).logits
    log_probs = torch.log_softmax(logits[0, :-1].double(), dim=-1)
    tar_prob = log_probs.gather(-1, ids[0, 1:].unsqueeze(-1)).squeeze(-1).numpy()
    probs = np.exp(tar_prob)
    scored = np.array(input_ids[1:])
    indexes, seen = [], []
    for i, tok in enumerate(scored):  # first occurrences, as the authors loop
        if tok not in seen:
            indexes.append(i)
            seen.append(tok)
    x_pro = probs[indexes]
    x_fre = fre_dis_smo[scored[indexes]]
    ce = x_pro * np.log(1 / x_fre)
    ce[ce > A] = A
    return float(np.mean(ce))


def authors_recall(model: torch.nn.Module, prefix_ids: list[int], target_ids: list[int],
                   bos: int) -> float:
    whole = torch.tensor([bos, *target_ids]).unsqueeze(0)
    with torch.no_grad():
        ll = -model(whole, labels=whole).loss.item()
    concat = torch.tensor([bos, *prefix_ids, *target_ids]).unsqueeze(0)
    labels = concat.clone()
    labels[:, :1 + len(prefix_ids)] = -100
    with torch.no_grad():
        ll_nonmember = -model(concat, labels=labels).loss.item()
    return ll_nonmember / ll


def main() -> int:
    torch.manual_seed(0)
    scorer = HFScorer(reference.model_dir(), dtype="float32")
    model, tok = scorer.model, scorer.tokenizer
    index = CorpusIndex.open(reference_index(cache_dir(), print))
    counts = index_token_counts(index, model.config.vocab_size)
    plain = np.zeros_like(counts)
    for doc in reference.iter_corpus():
        plain += np.bincount(tok(doc.text, add_special_tokens=False)["input_ids"],
                             minlength=counts.size)
    print(f"token counts: index vs re-tokenized corpus, {int((counts != plain).sum())} of "
          f"{counts.size} entries differ (totals {int(counts.sum())} / {int(plain.sum())})")
    fre_dis_smo = (counts + 1) / (sum(counts) + len(counts))
    members, heldout = reference_sets()
    texts = [p.text for p in members[:16]] + [p.text for p in heldout[-16:]]
    prefix = build_prefix(scorer, [p.text for p in heldout[:3]])
    fm = text_features(scorer, texts, frequencies=smoothed_frequencies(counts), prefix=prefix)
    room = scorer.lm.max_length - 1 - len(prefix)
    bos = int(tok.bos_token_id)
    diffs: dict[str, float] = {"dc_pdd": 0.0, "recall": 0.0}
    for i, text in enumerate(texts):
        ids = [int(t) for t in tok(text, add_special_tokens=False)["input_ids"]]
        ours_dc = float(fm.raw[i, fm.names.index("dc_pdd")])
        ours_rc = float(fm.raw[i, fm.names.index("recall")])
        theirs_dc = authors_dc_pdd(model, [bos, *ids][:scorer.lm.max_length], fre_dis_smo)
        theirs_rc = authors_recall(model, prefix, ids[:room], bos)
        diffs["dc_pdd"] = max(diffs["dc_pdd"], abs(ours_dc - theirs_dc))
        diffs["recall"] = max(diffs["recall"], abs(ours_rc - theirs_rc))
    for name, d in diffs.items():
        print(f"{name}: max |ours - authors'| over {len(texts)} passages = {d:.2e} "
              f"({'ok' if d <= 1e-6 else 'FAIL'})")
    return 0 if max(diffs.values()) <= 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
