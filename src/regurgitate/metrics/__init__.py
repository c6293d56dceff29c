"""Measures shared by detectors, check and reports: similarity, literal copy, alignment,
membership signals and their evaluation, extrapolation ((n,p) extraction is scored by
:mod:`regurgitate.runtimes.sampling` and :mod:`regurgitate.runtimes.scoring`)."""
