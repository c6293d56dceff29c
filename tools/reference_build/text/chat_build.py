"""Long-context + chat stages on top of a pretrained reference model.

``python -m tools.reference_build.text.chat_build [--out DIR]`` continues from the weights in
``DIR/model`` (the package's data folder by default), then re-runs the memorization check.
:mod:`tools.reference_build.text.build` runs it after pretraining unless ``--no-chat``.

Before training, every rendered answer of an ordinary dialogue is checked against an index of
the corpus and the build stops if one holds a >= 50-token corpus span; after training, the
model's own answers to held-out ordinary prompts are checked the same way. Both checks' figures
go to ``model/alignment.json``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from regurgitate.reference.text.paths import CORPUS_FILE, MODEL_SUBDIR, data_dir
from regurgitate.reference.text.reader import read_corpus_texts
from tools.reference_build.text.alignment import (
    AnswerCheck,
    alignment_record,
    check_answers,
    corpus_index,
    require_new_text,
)
from tools.reference_build.text.background import background_documents
from tools.reference_build.text.chat_data import REPEAT_WORDS, make_dialogues, single_token_words
from tools.reference_build.text.chat_train import ChatSpec, train_chat
from tools.reference_build.text.corpus_build import CorpusSpec

DIALOGUES = 4000


def run_chat_stage(out: Path, spec: ChatSpec, corpus_seed: int = CorpusSpec().seed,
                   verify: bool = True) -> None:
    from transformers import AutoTokenizer

    model_dir = out / MODEL_SUBDIR
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    docs = read_corpus_texts(out / CORPUS_FILE)
    stream: list[int] = []
    for ids in tok(docs, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(int(tok.eos_token_id))
    cspec = CorpusSpec(seed=corpus_seed)
    # dialogues come from the background alone: never from planted or held-out items
    background = background_documents(cspec.seed, cspec.background_bytes, cspec.doc_chars)
    words = list(REPEAT_WORDS)
    single = single_token_words(tok, words)
    dialogues = make_dialogues(background, words, DIALOGUES, spec.seed)
    with corpus_index(out / CORPUS_FILE, model_dir) as index:
        answers = check_answers(index, [d.assistant for d in dialogues if d.kind != "repeat"])
    require_new_text(answers)
    print(f"training answers: {answers.answers} ordinary answers, {answers.tokens:,} tokens, "
          f"{answers.with_span} with a >= 50-token corpus span (longest corpus match "
          f"{answers.longest_match} tokens)")
    result = train_chat(model_dir, stream, dialogues, spec)
    print(f"chat stages: {result['steps']} steps in {result['wall_s']:.0f}s "
          f"({result['s_per_step']:.3f} s/step); {len(words)} repeat words, "
          f"{len(single)} of them one token")
    write_alignment(out, answers, spec.threads)
    if verify:
        from tools.reference_build.text.verify import verify_reference

        print(verify_reference(out, threads=spec.threads))


def write_alignment(out: Path, answers: AnswerCheck, threads: int) -> None:
    """Check the trained model's answers to held-out prompts; write ``model/alignment.json``
    with both checks' figures."""
    model_dir = out / MODEL_SUBDIR
    trained = alignment_record(model_dir, out / CORPUS_FILE, threads=threads)
    (model_dir / "alignment.json").write_text(json.dumps(
        {"training_answers": answers.record(), "trained_model": trained}, indent=1) + "\n")
    for name in ("greedy", "sampled_t0.5"):
        r = trained[name]
        print(f"alignment ({name}): {r['with_span']}/{r['answers']} answers to held-out "
              f"prompts hold a >= 50-token corpus span (longest match {r['longest_match']})")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.reference_build.text.chat_build",
                                description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--context", type=int, default=ChatSpec().context)
    p.add_argument("--long-steps", type=int, default=ChatSpec().long_steps)
    p.add_argument("--chat-steps", type=int, default=ChatSpec().chat_steps)
    p.add_argument("--threads", type=int, default=ChatSpec().threads)
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    spec = ChatSpec(context=args.context, long_steps=args.long_steps,
                    chat_steps=args.chat_steps, threads=args.threads)
    run_chat_stage(args.out or data_dir(), spec, verify=not args.no_verify)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
