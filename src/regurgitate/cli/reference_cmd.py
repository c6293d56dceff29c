"""`regurgitate reference`: where the bundled reference model, corpus and index live, and the
planted items (each with how many copies the corpus holds and in which documents)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from regurgitate.cli.common import QUIET_OPT, stderr_console, stdout_console
from regurgitate.untrusted import visible


def reference_index_path(quiet: bool = False) -> Path:
    """The bundled reference corpus's index (built and cached on first use), said on
    stderr so that nobody takes it for their own corpus."""
    from regurgitate.scan.request import cache_dir
    from regurgitate.targets.reference import reference_index

    err = stderr_console(quiet=quiet)
    return reference_index(cache_dir(), lambda m: err.print(escape(m)))


def reference(
    items: Annotated[bool, typer.Option(
        "--items/--no-items", help="list the planted items with their copies")] = True,
    text: Annotated[bool, typer.Option("--text", help="print each planted item's text")
                    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    quiet: Annotated[bool, QUIET_OPT] = False,
) -> None:
    """The bundled reference set: where its model, corpus and index live, and the items
    planted in the corpus (passages planted 100, 10 or 1 times, held-out passages never
    trained on, PII records), with how many copies the corpus holds. `--target reference`
    and `--index reference` name these; `regurgitate index info reference` describes the
    index."""
    from regurgitate import reference as ref

    manifest = ref.load_manifest()
    index = reference_index_path(quiet)
    where = {"model": str(ref.model_dir()), "corpus": str(ref.corpus_path()),
             "manifest": str(ref.manifest_path()), "index": str(index)}
    rows: list[dict[str, Any]] = [{"id": it.id, "kind": it.kind, "copies": it.copies,
             "documents": list(it.doc_ids), "text": it.text} for it in manifest.items]
    if json_out:
        sys.stdout.write(json.dumps({**where, "items": rows}, ensure_ascii=False) + "\n")
        return
    out = stdout_console()
    for k, v in where.items():
        out.print(Text(f"{k:>8}: {visible(v)}"))
    if not items:
        return
    t = Table(title=f"Planted items ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD,
              header_style="bold", pad_edge=False)
    t.add_column("Id", no_wrap=True)
    t.add_column("Kind")
    t.add_column("Copies", justify="right")
    t.add_column("Documents", overflow="fold")
    if text:
        t.add_column("Text", overflow="fold")
    for r in rows:
        docs = r["documents"]
        shown = ", ".join(docs[:3]) + (f" +{len(docs) - 3}" if len(docs) > 3 else "")
        cells: list[Text | str] = [Text(visible(str(r["id"]))), Text(str(r["kind"])),
                                   f"{r['copies']:,}", Text(visible(shown) or "–")]
        if text:
            cells.append(Text(visible(str(r["text"]))))
        t.add_row(*cells)
    out.print(t)
    out.print(Text("Copies: how many times the item occurs in the corpus (0: held out, never "
                   "trained on). --json lists every document and text.", style="dim"))
