"""`regurgitate index build-images` and the image branch of `regurgitate scan`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from regurgitate.cli.common import CountingProgress, stderr_console, stdout_console
from regurgitate.images.distance import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from rich.console import Console

    from regurgitate.store.runstore import RunStore


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


def write_image_outputs(store: RunStore, console: Console, *,
                        html: Path | None) -> list[Path]:
    """The image run's terminal summary, and its HTML report when a path is given."""
    from regurgitate.reports.images_data import summarize_images
    from regurgitate.reports.images_html import render_image_html
    from regurgitate.reports.images_terminal import render_image_summary

    summary = summarize_images(store)
    render_image_summary(summary, console)
    if html is None:
        return []
    from regurgitate.safe_paths import write_text_atomically

    # never over the run database (or any SQLite file), never through a symlink, atomic
    write_text_atomically(html, render_image_html(store, summary, title=store.path.stem),
                          protect=[store.path], what="report")
    return [html]


def scan_images(*, target: str, index: Path | None, run: Path | None,
                options: dict[str, dict[str, str]], seed: int, batch_size: int | None,
                max_generations: int | None, html: Path | None, write_html: bool,
                command: tuple[str, ...] = ("scan",)) -> None:
    """The image branch of ``regurgitate scan`` (a diffusion target, or recorded images):
    the same stop signals, run lease and resume hints as a text scan."""
    from regurgitate.cli.common import ScanBar, StopSignals, raised_budget_command
    from regurgitate.images.scan import run_image_scan
    from regurgitate.images.setup import ImageScanRequest, prepare_image_scan
    from regurgitate.run import Budget
    from regurgitate.store import RunStore
    from regurgitate.store.lease import scan_lease

    out = stdout_console()
    err = stderr_console()
    prepared = prepare_image_scan(
        ImageScanRequest(target=target, index=index, run=run, options=options, seed=seed,
                         html=html, write_html=write_html, command=command),
        note=lambda m: err.print(escape(m)))
    resume = escape(prepared.resume_command)
    with StopSignals(err) as signals, scan_lease(prepared.run_path), \
            RunStore.open(prepared.run_path) as store, prepared.target as tgt:
        try:
            with ScanBar(err, images=True) as bar:
                outcome = run_image_scan(
                    store=store, spec=prepared.spec, target=tgt, attacks=prepared.attacks,
                    detectors=prepared.detectors, index=prepared.index,
                    clique=prepared.clique, seed=seed, batch_size=batch_size,
                    budget=Budget(max_generations=max_generations), progress=bar,
                    should_stop=signals.stop.is_set)
        except KeyboardInterrupt:
            store.set_meta("status", "stopped")
            err.print(f"[yellow]interrupted.[/] Finished images are saved in "
                      f"{escape(str(prepared.run_path))}; resume with:\n  {resume}")
            raise typer.Exit(signals.exit_code) from None
        write_image_outputs(store, out, html=prepared.html_path)
    if outcome.stopped:
        again = prepared.resume_command
        if outcome.stopped != "interrupted":  # a budget: the same one makes no progress
            again = raised_budget_command(again)
        err.print(f"[yellow]stopped: {escape(outcome.stopped)}.[/] {outcome.pending} prompt(s) "
                  f"left; resume with:\n  {escape(again)}")
    if prepared.html_path is not None:
        out.print(f"report: {escape(str(prepared.html_path))}")
    out.print(f"run: {escape(str(prepared.run_path))}")
    if outcome.stopped == "interrupted":
        raise typer.Exit(signals.exit_code)
