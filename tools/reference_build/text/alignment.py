"""Build-time checks that the reference chat model's ordinary answers are new text.

Two checks, both against the suffix-array index of the reference corpus (the verdict rule of
the divergence attack: a verbatim span is >= 50 tokens found exactly in the corpus):

* :func:`check_answers` on every rendered training answer; :func:`require_new_text` refuses
  the build when any answer holds such a span;
* :func:`model_answers` + :func:`check_answers` on the trained model's own answers
  (greedy and sampled, end of turn allowed) to ordinary prompts about held-out topics.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from regurgitate.errors import ConfigError
from regurgitate.index import CorpusIndex

#: a verbatim span: this many tokens found exactly in the corpus
SPAN_TOKENS = 50


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """Figures of one check: how many answers, how long, how many hold a verbatim span."""

    answers: int
    tokens: int
    with_span: int
    longest_match: int  # the longest exact corpus match of any answer, in tokens
    examples: tuple[str, ...]  # the first few answers holding a span (for the error)

    @property
    def span_share(self) -> float:
        return self.with_span / self.answers if self.answers else 0.0

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["span_share"] = round(self.span_share, 4)
        out["examples"] = [e[:200] for e in self.examples]
        return out


@contextmanager
def corpus_index(corpus_file: Path, model_dir: Path) -> Iterator[CorpusIndex]:
    """A temporary index of ``corpus_file`` with the model's tokenizer (seconds)."""
    from regurgitate.corpus.tokenizer import load_tokenizer
    from regurgitate.index import build_index
    from regurgitate.reference.text.reader import iter_corpus_file

    tok = load_tokenizer(model_dir)
    with tempfile.TemporaryDirectory(prefix="regurgitate-chat-index-") as tmp:
        path = Path(tmp) / "index"
        build_index(iter_corpus_file(corpus_file), path, tok)
        yield CorpusIndex.open(path)


def check_answers(index: CorpusIndex, texts: Sequence[str], batch: int = 256) -> AnswerCheck:
    """Tokenize each text with the index's tokenizer and look for >= 50-token spans."""
    tokens = with_span = longest = 0
    examples: list[str] = []
    for i in range(0, len(texts), batch):
        chunk = list(texts[i:i + batch])
        ids = list(index.tokenizer.encode_batch(chunk))
        tokens += sum(len(x) for x in ids)
        for text, x, spans, lengths in zip(
                chunk, ids, index.maximal_spans_batch(ids, min_tokens=SPAN_TOKENS,
                                                      windows=False),
                index.longest_matches_batch(ids), strict=True):
            if len(x):
                longest = max(longest, int(lengths.max()))
            if spans:
                with_span += 1
                if len(examples) < 3:
                    examples.append(text)
    return AnswerCheck(len(texts), tokens, with_span, longest, tuple(examples))


def require_new_text(check: AnswerCheck) -> None:
    """Refuse a build whose training answers copy corpus text."""
    if check.with_span:
        raise ConfigError(
            f"{check.with_span} of {check.answers} rendered chat answers hold a span of "
            f">= {SPAN_TOKENS} tokens found in the reference corpus "
            f"(first: {check.examples[0][:80]!r})",
            hint="ordinary answers must be new text; change the answer generator")


def heldout_prompts() -> list[str]:
    """Ordinary requests about topics no training dialogue (and no baseline prompt) asks."""
    from tools.reference_build.text.aligned import HELDOUT_TOPICS, QUESTION_TEMPLATES

    rng = random.Random("heldout-prompts")
    return [rng.choice(QUESTION_TEMPLATES).format(topic=t) for t in HELDOUT_TOPICS
            for _ in range(2)]


def model_answers(model: Any, tok: Any, prompts: Sequence[str], max_new_tokens: int = 256,
                  temperature: float = 0.0, seed: int = 0, batch: int = 16) -> list[str]:
    """The model's answers as a chat user would get them (end of turn allowed)."""
    import torch

    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                     add_generation_prompt=True) for p in prompts]
    out: list[str] = []
    side, pad = tok.padding_side, tok.pad_token
    tok.padding_side = "left"
    if pad is None:
        tok.pad_token = tok.eos_token
    try:
        for i in range(0, len(texts), batch):
            enc = tok(texts[i:i + batch], return_tensors="pt", padding=True,
                      add_special_tokens=False)
            torch.manual_seed(seed + i)
            with torch.no_grad():
                gen = model.generate(**enc, max_new_tokens=max_new_tokens,
                                     do_sample=temperature > 0,
                                     temperature=temperature if temperature > 0 else None,
                                     top_k=0 if temperature > 0 else None,
                                     pad_token_id=tok.eos_token_id)
            width = enc["input_ids"].shape[1]
            out.extend(tok.decode(row[width:], skip_special_tokens=True) for row in gen)
    finally:
        tok.padding_side = side
        if pad is None:
            tok.pad_token = None
    return out


def alignment_record(model_dir: Path, corpus_file: Path, threads: int | None = None
                     ) -> dict[str, Any]:
    """Greedy and sampled (T=0.5) answers of the model in ``model_dir`` to the held-out
    prompts, checked against the corpus index."""
    from tools.reference_build.text.verify import load_reference_model

    model, tok = load_reference_model(model_dir, threads=threads)
    prompts = heldout_prompts()
    record: dict[str, Any] = {"prompts": len(prompts), "max_new_tokens": 256,
                              "span_tokens": SPAN_TOKENS}
    with corpus_index(corpus_file, model_dir) as index:
        for name, temp in (("greedy", 0.0), ("sampled_t0.5", 0.5)):
            answers = model_answers(model, tok, prompts, temperature=temp)
            record[name] = {**check_answers(index, answers).record(),
                            "sample_answers": [a[:300] for a in answers[:3]]}
    return record
