"""Measures shared by detectors, check and reports: similarity, literal copy, alignment, (n,p)
extraction, membership signals and their evaluation, extrapolation."""
