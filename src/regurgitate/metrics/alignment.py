"""The best-scoring stretch of a character alignment: how much of a text copies a passage,
with unrelated text on either side cut off (used by the near-verbatim detector and by
``regurgitate check``)."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein


def aligned_core(generated: str, source: str, penalty: float = 3.0
                 ) -> tuple[int, int, int, int]:
    """(gen_start, gen_end, src_start, src_end) of the best-scoring stretch of a Levenshtein
    alignment of the two strings: +1 per identical character, ``-penalty`` per character
    substituted, inserted or deleted (maximum-sum segment over the alignment's blocks). With
    the default penalty 3 a stretch must be more than 75% identical to extend the core, so
    unrelated text around a copied passage is cut off. All zeros when nothing matches."""
    best = (0.0, 0, 0, 0, 0)
    run, run_start = 0.0, None
    for op in Levenshtein.opcodes(generated, source):
        if op.tag == "equal":
            gain = float(op.src_end - op.src_start)
        else:
            gain = -penalty * max(op.src_end - op.src_start, op.dest_end - op.dest_start)
        if run_start is None or run <= 0:
            if gain <= 0:
                run, run_start = 0.0, None
                continue
            run, run_start = 0.0, (op.src_start, op.dest_start)
        run += gain
        if run > best[0]:
            best = (run, run_start[0], op.src_end, run_start[1], op.dest_end)
    return best[1], best[2], best[3], best[4]
