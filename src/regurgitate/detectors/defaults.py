"""The detectors of a scan: every registered detector that applies, built from its context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from regurgitate.detectors.base import Detector, DetectorContext, order_detectors
from regurgitate.errors import ConfigError


def default_detectors(
    ctx: DetectorContext | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    names: Sequence[str] | None = None,
) -> list[Detector]:
    """The detectors for a scan, ordered so each runs after those it requires.

    Without ``names``: every detector registered in the ``regurgitate.detectors`` entry-point
    group (built-ins and installed plugins) that applies to ``ctx`` (e.g. ``verbatim`` only
    with an index). With ``names``: exactly those, and a ConfigError when one cannot run here.
    ``options`` maps a detector name to its options (``--set NAME.OPTION=VALUE``).
    """
    from regurgitate.registry import detectors as detector_registry

    ctx = ctx or DetectorContext()
    options = options or {}
    registry = detector_registry()
    wanted = list(names) if names is not None else registry.names()
    built: list[Detector] = []
    for name in wanted:
        cls = registry.load(name)
        det = cls.create(ctx, dict(options.get(name, {})))
        if det is None:
            if names is not None:
                raise ConfigError(f"the detector {name!r} cannot run in this scan",
                                  hint="it needs a reference-corpus index: pass --index")
            continue
        if det.name != name:
            raise ConfigError(f"the detector registered as {name!r} calls itself {det.name!r}")
        built.append(det)
    return order_detectors(built)
