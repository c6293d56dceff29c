"""What the user asks a scan for (:class:`ScanRequest`), what setup makes of it
(:class:`PreparedScan`), and where cached artefacts live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from regurgitate.scan.budget import Budget
from regurgitate.types import Modality, RunSpec

if TYPE_CHECKING:
    from regurgitate.attacks.base import Attack
    from regurgitate.detectors.base import Detector
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex
    from regurgitate.targets.base import Target

DEFAULT_OUT = Path("regurgitate-out")


@dataclass(frozen=True)
class ScanRequest:
    target: str | None = None
    attacks: str | None = None
    #: the detectors to run (and those they require); None: every one that applies
    detectors: tuple[str, ...] | None = None
    #: detectors left out (``--no-detector``)
    no_detectors: tuple[str, ...] = ()
    index: Path | str | None = None  # a directory or an http(s) index URL
    run: Path | None = None
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    #: verbatim threshold and sources per span (text scans; None: 50 and 10)
    min_tokens: int | None = None
    max_docs: int | None = None
    seed: int = 0
    html: Path | None = None
    #: write an HTML report at all (a default path is chosen when ``html`` is None)
    write_html: bool = True
    cache_dir: Path | None = None
    #: where generation runs: "local" or "ray" (replicas on a Ray cluster)
    executor: str = "local"
    ray_address: str | None = None
    replicas: int | None = None
    #: the command line that asked for the scan, after the program name (``["scan", ...]``);
    #: repeated in the "resume with" hints
    command: tuple[str, ...] = ("scan",)
    #: limits that stop the scan cleanly (token and cost limits apply to text scans only)
    budget: Budget = field(default_factory=Budget)


@dataclass
class PreparedScan:
    spec: RunSpec
    target: Target
    attacks: list[Attack]
    #: the reference-corpus index of a text scan
    index: CorpusIndex | None
    run_path: Path
    html_path: Path | None
    resume_command: str
    detectors: list[Detector]
    modality: Modality = "text"
    #: the training-image index of an image scan
    image_index: ImageIndex | None = None
    budget: Budget = field(default_factory=Budget)


def cache_dir(explicit: Path | None = None) -> Path:
    """Where cached artefacts (the reference index) live: REGURGITATE_CACHE or ~/.cache."""
    if explicit is not None:
        return explicit
    env = os.environ.get("REGURGITATE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "regurgitate"
