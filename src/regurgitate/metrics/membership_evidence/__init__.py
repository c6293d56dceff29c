"""Membership evidence that holds up: per-text signals as features, a model-free (blind)
baseline on the same split, and a dataset-inference test with a p-value.

* :mod:`.features`: every membership signal of a set of texts under a local model;
* :mod:`.blind`: a classifier that never sees the model (hashed character n-grams);
* :mod:`.dataset_inference`: suspect against control, fit on one half, one-sided Welch
  t-test on the other, median over repeated splits, and the false-positive rate under the null;
* :mod:`.passages`: works cut into passages, and the reference corpus's member and held-out
  (never trained on) background passages.
"""
