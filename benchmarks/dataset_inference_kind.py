"""Dataset inference against a change of kind, on the bundled reference model (issue 41).

Prints, for each case, the raw test's p, the model-free test's p, the adjusted p (membership
features less what model-free features explain), the false-positive rate at the sizes used
(label shuffles), the verdict and the wall time:

* GPL-3 paragraphs (never trained on, another kind of text) against the reference's held-out
  passages: must not be "trained on";
* member background documents against held-out background documents: must stay significant;
* held-out against held-out: no evidence.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dataset_inference_kind.py
"""

from __future__ import annotations

import time
from pathlib import Path

from regurgitate import reference
from regurgitate.metrics.membership_evidence.passages import passages_of
from regurgitate.metrics.membership_evidence.text_inference import text_dataset_inference
from regurgitate.reference.text.heldout_background import heldout_background, member_background
from regurgitate.runtimes.scoring import HFScorer

GPL = Path("/usr/share/common-licenses/GPL-3")
KEEP = 2400


def main() -> None:
    scorer = HFScorer(reference.model_dir(), dtype="float32", batch_size=16)
    held_items = [it for it in reference.load_manifest().items if it.kind == "heldout"][:8]
    members, held = member_background(), heldout_background()
    cases = []
    if GPL.is_file():
        paras = [p for p in GPL.read_text().split("\n\n") if len(p) > 400][:8]
        cases.append(("GPL-3 vs held-out passages",
                      [(f"gpl{i}", p) for i, p in enumerate(paras)],
                      [(it.id, it.text) for it in held_items]))
    cases.append(("12 members vs 14 held-out docs",
                  [(d.id, d.text[:KEEP]) for d in members[:12]],
                  [(d.id, d.text[:KEEP]) for d in held[:14]]))
    cases.append(("12 held-out vs 14 held-out docs",
                  [(d.id, d.text[:KEEP]) for d in held[:12]],
                  [(d.id, d.text[:KEEP]) for d in held[12:26]]))
    for name, sus, con in cases:
        t0 = time.perf_counter()
        r = text_dataset_inference(scorer, passages_of(sus), passages_of(con))
        print(f"{name}: raw p {r.raw_p_value:.3g}, model-free p {r.model_free_p_value:.3g}, "
              f"adjusted p {r.p_value:.3g}, shuffles {r.null_false_positives}/{r.null_trials}, "
              f"significant {r.significant}, conclusive {r.conclusive} "
              f"({time.perf_counter() - t0:.0f} s)")
        print(f"  {r.verdict()}")


if __name__ == "__main__":
    main()
