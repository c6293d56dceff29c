"""`regurgitate audit`: was a user's work trained on, and how much of it comes back?

The audit is a scan whose prompts are windows of the user's works (:mod:`.windows`), run
through the same pipeline, run store, targets and budgets as ``scan``. Per-window findings are
the discoverable detector's (exact p of the suffix under the sampling scheme, greedy match, or
hits/n for APIs without log-probabilities); :mod:`.figures` turns them into per-work figures
(extracted share, longest stretch, largest p) and the map. :mod:`.recall` scores long-form
outputs by near-verbatim recall (Ahmed, Cooper et al. 2026), :mod:`.longform` drives the
"continue" loop that produces them, and :mod:`.characters` counts copied character names
(CopyBench's non-literal measure).
"""
