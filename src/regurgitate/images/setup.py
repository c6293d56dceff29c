"""Turn an image scan request into ready components (the image side of ``scan_setup``).

Defaults: ``--target reference-image`` alone indexes the bundled training images (cached by
content hash, first run only), runs the Carlini attack with 32 seeds per caption, the
extracted-copy detector and the clique detector (k = 3 of 32), and writes
``regurgitate-out/reference-image.db`` and ``.html``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from regurgitate import __version__
from regurgitate.attacks.carlini import CarliniAttack
from regurgitate.detectors.base import Detector
from regurgitate.detectors.image_cliques import ImageCliqueDetector
from regurgitate.detectors.image_copy import ImageCopyDetector
from regurgitate.detectors.image_similarity import ImageSimilarityDetector
from regurgitate.errors import ConfigError
from regurgitate.images.index import ImageIndex, IndexSettings, build_image_index
from regurgitate.images.spec import IMAGE_SCHEMES, is_image_target
from regurgitate.options import parse_options
from regurgitate.targets.base import Target
from regurgitate.types import RunSpec

__all__ = ["IMAGE_SCHEMES", "ImageScanRequest", "PreparedImageScan", "is_image_target",
           "make_image_target", "prepare_image_scan"]

DEFAULT_OUT = Path("regurgitate-out")


@dataclass(frozen=True)
class ImageScanRequest:
    target: str
    index: Path | None = None
    run: Path | None = None
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    seed: int = 0
    html: Path | None = None
    write_html: bool = True
    cache_dir: Path | None = None
    #: the command line as the CLI received it (for the resume hint)
    command: tuple[str, ...] = ("scan",)


@dataclass
class PreparedImageScan:
    spec: RunSpec
    target: Target
    attacks: list[Any]
    index: ImageIndex
    detectors: list[Detector]
    clique: ImageCliqueDetector | None
    run_path: Path
    html_path: Path | None
    resume_command: str


def make_image_target(spec: str) -> Target:
    """``reference-image``, ``diffusers:DIR_OR_ID?device=cpu&batch_size=16&steps=50`` or
    ``images:DIR``."""
    head, _, query = spec.strip().partition("?")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    target: Target
    if head == "reference-image":
        from regurgitate.targets.reference_image import ReferenceImageTarget

        target = ReferenceImageTarget(**parse_options(ReferenceImageTarget, opts,
                                                      owner="the reference-image target"))
    else:
        scheme, _, location = head.partition(":")
        if not location:
            raise ConfigError(f"target spec {spec!r} names no model or folder after "
                              f"'{scheme}:'")
        if scheme == "diffusers":
            from regurgitate.targets.diffusers_target import DiffusersTarget

            target = DiffusersTarget(location, **parse_options(
                DiffusersTarget, opts, owner="diffusers targets", skip=1))
        else:
            from regurgitate.targets.image_folder import ImageFolderTarget

            if opts:
                raise ConfigError("images:DIR targets take no options")
            target = ImageFolderTarget(location)
    target.name = head if not query else f"{head}?{query}"
    return target


def _cache_dir(explicit: Path | None) -> Path:
    from regurgitate.scan_setup import cache_dir

    return cache_dir(explicit)


def reference_image_index(cache: Path, note: Callable[[str], None]) -> Path:
    """The index of the bundled training images (held-out included), built once and cached."""
    from regurgitate.reference_image.paths import images_dir
    from regurgitate.reference_image.source import reference_images

    folder = images_dir()
    digest = hashlib.sha256((folder / "images.npz").read_bytes()
                            + (folder / "manifest.json").read_bytes()).hexdigest()[:16]
    path = cache / f"reference-image-index-{digest}"
    if (path / "meta.json").exists():
        return path
    note(f"indexing the bundled training images into {path} (first run only)")
    build_image_index(reference_images(), path,
                      IndexSettings(size=16, retrieval_factor=2, thumb=48), overwrite=True)
    return path


def prepare_image_scan(req: ImageScanRequest, note: Callable[[str], None]) -> PreparedImageScan:
    is_ref = req.target.strip().partition("?")[0] == "reference-image"
    index_path = req.index
    if index_path is None:
        if not is_ref:
            raise ConfigError("an image scan needs a training-image index",
                              hint="build one with: regurgitate index build-images SRC -o IDX, "
                              "then pass --index IDX")
        index_path = reference_image_index(_cache_dir(req.cache_dir), note)
    index = ImageIndex(index_path)
    opts = {k: dict(v) for k, v in req.options.items()}
    known = {"carlini", "image_copy", "image_clique", "image_similarity"}
    for comp in opts:
        if comp not in known:
            raise ConfigError(f"unknown component {comp!r} in --set",
                              hint=f"image scans have: {', '.join(sorted(known))}")
    # every --set value is converted by the annotation of the parameter it fills
    attack_opts: dict[str, Any] = {"per_caption": 32 if is_ref else 16}
    attack_opts.update(parse_options(CarliniAttack, opts.get("carlini", {}),
                                     owner="the carlini attack"))
    attack = CarliniAttack(**attack_opts)
    copy_opts = parse_options(ImageCopyDetector, opts.get("image_copy", {}),
                              owner="the image_copy detector", skip=1)
    detectors: list[Detector] = [ImageCopyDetector(index, **copy_opts)]
    if index.embeddings is not None:
        sim_opts = parse_options(ImageSimilarityDetector, opts.get("image_similarity", {}),
                                 owner="the image_similarity detector", skip=1)
        detectors.append(ImageSimilarityDetector(index, **sim_opts))
    clique_opts: dict[str, Any] = {"k": 3 if is_ref else 10, "threshold": index.threshold,
                                   "size": index.size, "grid": int(index.meta["grid"])}
    clique_opts.update(parse_options(ImageCliqueDetector, opts.get("image_clique", {}),
                                     owner="the image_clique detector"))
    clique = ImageCliqueDetector(**clique_opts)
    target = make_image_target(req.target)
    attacks: list[Any] = [attack]
    from regurgitate.targets.image_folder import ImageFolderTarget

    if isinstance(target, ImageFolderTarget):
        from regurgitate.attacks.recorded_images import RecordedImagesAttack

        attacks = [RecordedImagesAttack(folder=str(target.folder))]
        attack_opts = {"folder": str(target.folder)}
    out = DEFAULT_OUT
    run_path = req.run or out / ("reference-image.db" if is_ref else "images.db")
    run_path.parent.mkdir(parents=True, exist_ok=True)
    html = req.html or (run_path.with_suffix(".html") if req.write_html else None)
    settings = {"carlini": attack_opts, "image_copy": copy_opts, "image_clique": clique_opts,
                "seed": req.seed}
    spec = RunSpec(target=target.name, attacks=tuple(a.name for a in attacks),
                   index=str(index_path),
                   settings=settings, tool_version=__version__)
    from regurgitate.scan_setup import resume_command

    return PreparedImageScan(spec=spec, target=target, attacks=attacks, index=index,
                             detectors=detectors, clique=clique, run_path=run_path,
                             html_path=html,
                             resume_command=resume_command(req.command, req.run, run_path))
