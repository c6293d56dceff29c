"""`regurgitate index build-images`, and the terminal and HTML outputs of an image run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import CountingProgress, stderr_console, stdout_console
from regurgitate.images.distance import DEFAULT_THRESHOLD

if TYPE_CHECKING:

    pass


def build_images(
    source: Annotated[Path, typer.Argument(help="a folder with captions.jsonl/captions.csv, "
                                           "or an image-text Parquet file")],
    output: Annotated[Path, typer.Option("--output", "-o", help="index directory to create")],
    size: Annotated[int, typer.Option(help="images are compared at SIZE x SIZE")] = 64,
    threshold: Annotated[float, typer.Option(help="extraction threshold, tiled L2 (Carlini "
                                             "et al.: 0.15)")] = DEFAULT_THRESHOLD,
    embed: Annotated[str | None, typer.Option(help="copy-detection model from a local path: "
                                              "torchscript:SSCD.pt or clip:DIR")] = None,
    embed_size: Annotated[int, typer.Option(help="input size of the embedding model")] = 288,
    force: Annotated[bool, typer.Option(help="replace an existing index")] = False,
) -> None:
    """Index training images for the image detectors (tiled L2, pHash, optional SSCD/CLIP)."""
    from regurgitate.images.embed import Embedder
    from regurgitate.images.index import IndexSettings, build_image_index
    from regurgitate.images.sources import read_source

    embedder = Embedder(embed, size=embed_size) if embed else None
    factor = 4 if size % 4 == 0 and size >= 16 else 1
    with CountingProgress(stderr_console(), "indexing", "images", items="images") as bar:
        meta = build_image_index(read_source(source), output,
                                 IndexSettings(size=size, retrieval_factor=factor,
                                               threshold=threshold), embedder=embedder,
                                 overwrite=force, progress=bar)
    stderr_console().print(
        f"indexed {meta['images']:,} images ({meta['captions']:,} captions) in "
        f"{meta['build_seconds']:.1f}s -> {escape(str(output))}")
    stdout_console().print(escape(str(output)))
