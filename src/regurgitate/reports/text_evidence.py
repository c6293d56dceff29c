"""Evidence packets: one self-contained record per memorized sequence of a run.

``regurgitate export RUN --format evidence -o DIR`` writes, for every unique memorized
sequence (verbatim spans merged across generations, see ``reports.memorized``), a JSON file
and a readable HTML page holding:

* the prompt and the generation settings of the generation that emitted its longest form,
  and that output with the span marked (``span_start``/``span_end``: character offsets in
  the output); an output longer than ``OUTPUT_LIMIT`` characters is kept as an excerpt
  around the span (``output`` starts ``output_offset`` characters into the
  ``output_chars``-character output), so packets stay proportional to their spans;
* ``run``: when the span is one of a periodic run of equal spans (a repeated word against
  a corpus run of it), the run (:class:`~regurgitate.findings.VerbatimRun`) and the marked
  stretch is the whole run; None otherwise;
* the span's exact text, its token count, its corpus ``count`` (it occurs exactly that many
  times) and its **rarity**: the sum over its tokens of ``log p(token)`` under the corpus's
  unigram distribution (``log(count(token) / corpus tokens)``), the quantity OLMoTrace ranks
  spans by (more negative = rarer, more telling);
* every source document (up to ``max_sources``) by its corpus id, with the token and
  character offsets of the match inside it and the surrounding context;
* the span's **most repeated window** (``window``): of its windows of the scan's
  ``--min-tokens`` tokens, the one occurring most often in the corpus, with its offset in the
  span (tokens), its text, its count and its sources named as above (recounted in the index
  when one is given; from the finding otherwise; None for runs written before windows);
* ``ngrams``: how many distinct memorized ``--min-tokens``-grams its spans hold (the unit
  the report's extrapolation counts; None for runs whose spans predate token ids);
* the other generations that emitted it, the tool version, the index path and an index
  fingerprint (a BLAKE2b digest of the index manifest's file checksums and tokenizer, or of
  the index files' names, sizes and first bytes when there is no manifest).

All pages are escaped, script-free (a Content-Security-Policy forbids scripts) and written
through temporary files renamed into place. ``DIR/index.json`` and ``DIR/index.html`` list
the packets.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from regurgitate.errors import StoreError
from regurgitate.findings import VerbatimSpan
from regurgitate.reports.polish import timestamp
from regurgitate.reports.text_data import RunData
from regurgitate.reports.text_memorized import memorized_ngrams, unique_memorized
from regurgitate.safe_paths import write_text_atomically
from regurgitate.version import __version__

#: outputs longer than this are shown in packets as an excerpt around the span
OUTPUT_LIMIT = 20_000
#: characters of the output kept on each side of the span in such an excerpt
OUTPUT_MARGIN = 2_000

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#111827}h1{font-size:1.35rem}h2{font-size:1.05rem;margin-top:1.6rem}
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:13px;
background:#f9fafb;padding:.8rem;border:1px solid #e5e7eb;overflow-wrap:anywhere}
mark{background:#fde68a}table{border-collapse:collapse}td,th{padding:.2rem .6rem;
border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}.dim{color:#6b7280}
"""


def index_fingerprint(path: Path) -> str | None:
    """A content fingerprint of an index directory (see the module docstring)."""
    if not path.is_dir():
        return None
    h = hashlib.blake2b(digest_size=16)
    manifest = path / "manifest.json"
    if manifest.is_file():
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            m = None
        if isinstance(m, dict):
            h.update(json.dumps({"tokenizer": m.get("tokenizer"), "dtype": m.get("dtype"),
                                 "shards": [s.get("files") for s in m.get("shards", [])]},
                                sort_keys=True).encode())
            return "blake2b:" + h.hexdigest()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        h.update(f.name.encode() + b"\0" + str(f.stat().st_size).encode() + b"\0")
        with f.open("rb") as fh:
            h.update(fh.read(1 << 16))
    return "blake2b:" + h.hexdigest()


def _unigram_logprobs(index: Any, ids: Sequence[int], cache: dict[int, float]) -> float:
    total = max(int(index.num_tokens), 1)
    out = 0.0
    for t in ids:
        if t not in cache:
            c = int(index.count([int(t)]))
            cache[t] = math.log(c / total) if c else -math.inf
        out += cache[t]
    return out


def _sources(index: Any, ids: Sequence[int], limit: int, context_chars: int
             ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    tok = index.tokenizer
    for occ in index.occurrences(list(ids), limit=limit * 20):
        doc = int(occ.doc_id)
        if doc in seen:
            continue
        seen.add(doc)
        doc_ids = index.document_tokens(doc)
        off = int(occ.token_offset)
        head = tok.decode(doc_ids[:off])
        match = tok.decode(doc_ids[off:off + len(ids)])
        tail = tok.decode(doc_ids[off + len(ids):])
        meta = index.document_meta(doc)
        out.append({
            "id": index.doc_name(doc), "doc_id": doc,
            "title": meta.get("title") if isinstance(meta.get("title"), str) else None,
            "url": meta.get("url") if isinstance(meta.get("url"), str) else None,
            "token_start": off, "token_end": off + len(ids),
            "char_start": len(head), "char_end": len(head) + len(match),
            "before": head[-context_chars:], "match": match, "after": tail[:context_chars],
        })
        if len(out) >= limit:
            break
    return out


def build_packets(run: RunData, index: Any | None, *, max_sources: int = 10,
                  context_chars: int = 300) -> list[dict[str, Any]]:
    """One packet (a JSON-ready dict) per unique memorized sequence, longest first."""
    items = {it.generation_id: it for it in run.items}
    texts = {g: it.generation.text for g, it in items.items()}
    sequences = unique_memorized(run.findings, texts)
    verbatim: dict[int, list[Any]] = {}
    for f in run.findings:
        if f.kind == "verbatim" and f.start is not None and f.end is not None:
            verbatim.setdefault(f.generation_id, []).append(f)
    fingerprint = index_fingerprint(Path(run.spec.index)) if run.spec.index else None
    min_tokens = int(run.spec.settings.get("min_tokens", 50))
    cache: dict[int, float] = {}
    packets = []
    for n, seq in enumerate(sequences, 1):
        # the generation that emitted the longest form, and that finding
        gid, finding = next(((g, f) for g in seq.generation_ids for f in verbatim.get(g, [])
                             if _finding_text(texts[g], f) == seq.text),
                            (seq.generation_ids[0], None))
        item = items.get(gid)
        output = item.generation.text if item else ""
        start = finding.start if finding is not None else output.find(seq.text)
        end = (finding.end if finding is not None else
               (start + len(seq.text) if start is not None and start >= 0 else None))
        shown, offset = _excerpt(output, start, end)
        found = finding.payload_as(VerbatimSpan) if finding is not None else None
        run_info = found.run if found is not None else None
        packet: dict[str, Any] = {
            "sequence": n, "text": seq.text, "tokens": seq.tokens,
            "corpus_count": seq.corpus_count,
            "generation_id": gid, "other_generations": [g for g in seq.generation_ids
                                                        if g != gid],
            "prompt": item.prompt.as_text() if item else None,
            "attack": item.prompt.attack if item else None,
            "settings": asdict(item.prompt.settings) if item else None,
            "target": run.spec.target,
            "output": shown, "output_offset": offset, "output_chars": len(output),
            "span_start": start, "span_end": end,
            "run": asdict(run_info) if run_info is not None else None,
            "tool_version": __version__, "index": run.spec.index,
            "index_fingerprint": fingerprint,
            "created": timestamp(datetime.now(UTC)),
        }
        if index is not None:
            span = finding.payload_as(VerbatimSpan) if finding is not None else None
            if span is not None and span.token_start is not None and span.token_end is not None:
                # the span's own tokens, as the detector found them in the output
                all_ids = index.tokenizer.encode(output)
                ids = [int(t) for t in all_ids[span.token_start:span.token_end]]
            else:
                ids = [int(t) for t in index.tokenizer.encode(seq.text)]
            packet["corpus_count"] = int(index.count(ids))
            lp = _unigram_logprobs(index, ids, cache)
            packet["rarity"] = lp if math.isfinite(lp) else None
            packet["sources"] = _sources(index, ids, max_sources, context_chars)
        else:
            packet["rarity"] = None
            packet["sources"] = [{"id": s} for s in seq.sources]
            ids = None
        span = finding.payload_as(VerbatimSpan) if finding is not None else None
        packet["window"] = _window(span, index, ids, max_sources, context_chars)
        members = [f for g in seq.generation_ids for f in verbatim.get(g, [])
                   if texts[g][f.start:f.end] in seq.text]
        grams = memorized_ngrams(members, min_tokens)
        packet["ngram_length"] = min_tokens
        packet["ngrams"] = (len(set().union(*grams.values())) if grams is not None
                            else None)
        packets.append(packet)
    return packets


def _finding_text(output: str, f: Any) -> str:
    """The text of a verbatim finding's span (a periodic run's: that of each of its
    spans, not the whole run's stretch)."""
    span = f.payload_as(VerbatimSpan)
    if span is not None and span.run is not None:
        return str(span.text)
    return output[f.start:f.end]


def _excerpt(output: str, start: int | None, end: int | None) -> tuple[str, int]:
    """The output as a packet shows it, and where that starts in the output: whole up to
    ``OUTPUT_LIMIT`` characters, else the span (or run) with ``OUTPUT_MARGIN`` characters
    on each side, so that a packet stays proportional to its span, not to the output
    (a diverged output of 100 KB may hold dozens of memorized sequences)."""
    if len(output) <= OUTPUT_LIMIT or start is None or end is None or start < 0:
        return output, 0
    a, b = max(0, start - OUTPUT_MARGIN), min(len(output), end + OUTPUT_MARGIN)
    return output[a:b], a


def _window(span: VerbatimSpan | None, index: Any | None, ids: list[int] | None,
            limit: int, context_chars: int) -> dict[str, Any] | None:
    """The span's most repeated window as the finding recorded it; with the index, its
    count and sources (with context) taken from the index."""
    win = span.window if span is not None else None
    if win is None:
        return None
    out: dict[str, Any] = {"offset": win.offset, "tokens": win.tokens, "count": win.count,
                           "text": win.text,
                           "sources": [{"id": name} for name in win.sources]}
    if index is not None and ids is not None and win.offset + win.tokens <= len(ids):
        part = ids[win.offset:win.offset + win.tokens]
        out["count"] = int(index.count(part))
        out["sources"] = _sources(index, part, limit, context_chars)
    return out


def _window_html(p: dict[str, Any]) -> str:
    win = p.get("window")
    if not win:
        return ""
    names = ", ".join(escape(str(s["id"])) for s in win["sources"])
    return (f'<h2>Most repeated {win["tokens"]}-token window: {win["count"]:,}&times; in the '
            f'corpus</h2><p class="dim">Of the span&#x27;s windows of {win["tokens"]} tokens, '
            "the one occurring most often: the passage the span is built around (the whole "
            f'span occurs {p["corpus_count"]:,}&times;). It starts {win["offset"]} tokens into '
            f'the span.</p><div class="text">{escape(win["text"])}</div>'
            f"<p>Sources ({len(win['sources'])} shown): {names}</p>")


def _shift(at: int | None, p: dict[str, Any]) -> int | None:
    """An offset into the output as an offset into the excerpt the packet shows."""
    return None if at is None else at - int(p.get("output_offset") or 0)


def _excerpt_note(p: dict[str, Any]) -> str:
    offset = int(p.get("output_offset") or 0)
    total = p.get("output_chars", len(p["output"]))
    if offset == 0 and len(p["output"]) == total:
        return ""
    return (f'<p class="dim">Characters {offset:,}–{offset + len(p["output"]):,} of the '
            f"{total:,}-character output.</p>")


def _run_note(p: dict[str, Any]) -> str:
    run = p.get("run")
    if not run:
        return ""
    return (f'<p class="dim">A periodic run: {run["spans"]:,} maximal spans with this '
            f'sequence&#x27;s text, one every {run["period_chars"]:,} characters, the output '
            f'repeating “{escape(run["unit"][:200])}” over the marked stretch.</p>')


def _marked(text: str, start: int | None, end: int | None) -> str:
    if start is None or end is None or not 0 <= start <= end <= len(text):
        return escape(text)
    return (escape(text[:start]) + "<mark>" + escape(text[start:end]) + "</mark>"
            + escape(text[end:]))


def _link(url: str | None, label: str) -> str:
    from regurgitate.reports.check_html import safe_link

    return safe_link(url, label)


def packet_html(p: dict[str, Any]) -> str:
    """A readable, self-contained page for one packet (everything escaped)."""
    settings = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>"
                       for k, v in (p.get("settings") or {}).items())
    sources = []
    for s in p.get("sources") or []:
        title = f' <span class="dim">{escape(s["title"])}</span>' if s.get("title") else ""
        where = (f'tokens {s["token_start"]}–{s["token_end"]}, characters '
                 f'{s["char_start"]}–{s["char_end"]}' if "token_start" in s else "")
        ctx = ""
        if "match" in s:
            ctx = (f'<div class="text">…{escape(s["before"])}<mark>{escape(s["match"])}</mark>'
                   f'{escape(s["after"])}…</div>')
        sources.append(f"<li><strong>{_link(s.get('url'), str(s['id']))}</strong>{title} "
                       f'<span class="dim">{where}</span>{ctx}</li>')
    rarity = "–" if p.get("rarity") is None else f"{p['rarity']:.1f}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Evidence: memorized sequence {p["sequence"]}</title><style>{STYLE}</style></head><body>
<h1>Memorized sequence {p["sequence"]}: {p["tokens"]} tokens, {p["corpus_count"]:,}&times; in
the corpus</h1>
<table>
<tr><td>Target</td><td>{escape(str(p["target"]))}</td></tr>
<tr><td>Attack / generation</td><td>{escape(str(p["attack"]))} / #{p["generation_id"]}
{"(also in " + escape(", ".join(f"#{g}" for g in p["other_generations"])) + ")"
 if p["other_generations"] else ""}</td></tr>
<tr><td>Rarity (sum of unigram log-probabilities)</td><td>{rarity}</td></tr>
<tr><td>Index</td><td>{escape(str(p["index"]))} <span class="dim">
{escape(str(p["index_fingerprint"]))}</span></td></tr>
<tr><td>Tool</td><td>regurgitate {escape(p["tool_version"])}, packet written
{escape(p["created"])}</td></tr></table>
<h2>Prompt</h2><div class="text">{escape(str(p.get("prompt") or ""))}</div>
<h2>Generation settings</h2><table>{settings}</table>
<h2>Output (the memorized span marked)</h2>{_excerpt_note(p)}{_run_note(p)}
<div class="text">{_marked(p["output"], _shift(p.get("span_start"), p),
                           _shift(p.get("span_end"), p))}</div>
<h2>Sources ({len(p.get("sources") or [])} shown of the {p["corpus_count"]:,}
occurrences)</h2><ol>{"".join(sources)}</ol>
{_window_html(p)}
</body></html>
"""


def _write(path: Path, content: str) -> None:
    write_text_atomically(path, content, what="evidence packet")


def write_evidence(run: RunData, out_dir: Path, index: Any | None) -> int:
    """Write every packet as ``NNNN.json`` and ``NNNN.html`` plus ``index.json`` and
    ``index.html`` into ``out_dir`` (created); returns the number of packets."""
    packets = build_packets(run, index)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        for p in packets:
            stem = f"{p['sequence']:04d}"
            _write(out_dir / f"{stem}.json", json.dumps(p, ensure_ascii=False, indent=1))
            _write(out_dir / f"{stem}.html", packet_html(p))
            preview = " ".join(p["text"].split())[:120]
            win = p["window"]["count"] if p.get("window") else None
            rows.append(f'<tr><td><a href="{stem}.html">{stem}</a></td><td>{p["tokens"]}</td>'
                        f'<td>{p["corpus_count"]:,}</td>'
                        f'<td>{"–" if win is None else f"{win:,}"}</td>'
                        f'<td>{escape(preview)}</td></tr>')
        _write(out_dir / "index.json", json.dumps(
            [{**{k: p[k] for k in ("sequence", "tokens", "corpus_count", "text", "rarity",
                                   "ngrams")},
              "window_count": p["window"]["count"] if p.get("window") else None}
             for p in packets], ensure_ascii=False, indent=1))
        _write(out_dir / "index.html", f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Evidence packets</title><style>{STYLE}</style></head><body>
<h1>Evidence packets: {len(packets)} memorized sequence(s)</h1>
<p>Target {escape(run.spec.target)}; index {escape(str(run.spec.index))}.</p>
<table><tr><th>Packet</th><th>Tokens</th><th>Corpus count</th>
<th>Most repeated window</th><th>Sequence</th></tr>
{"".join(rows)}</table></body></html>
""")
    except OSError as exc:
        raise StoreError(f"cannot write evidence packets to {out_dir}: {exc}") from exc
    return len(packets)
