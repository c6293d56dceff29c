"""The three bundled reference sets, run-time parts only (paths, manifests, readers, loaders):
:mod:`.text` (the reference corpus and model, re-exported here so that
``from regurgitate import reference`` names the text set), :mod:`.image` and :mod:`.t2i`.
Their build, training and verification code lives in ``tools/reference_build`` (repository
only, not in the wheel)."""

from __future__ import annotations

from regurgitate.reference.text import *  # noqa: F403
from regurgitate.reference.text import __all__ as __all__
