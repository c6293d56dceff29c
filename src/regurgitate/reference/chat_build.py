"""Long-context + chat stages on top of a pretrained reference model.

``python -m regurgitate.reference.chat_build [--out DIR]`` continues from the weights in
``DIR/model`` (the package's data folder by default), then re-runs the memorization check.
:mod:`regurgitate.reference.build` runs it after pretraining unless ``--no-chat``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from regurgitate.reference.background import background_documents
from regurgitate.reference.chat_data import REPEAT_WORDS, make_dialogues, single_token_words
from regurgitate.reference.chat_train import ChatSpec, train_chat
from regurgitate.reference.corpus_build import CorpusSpec
from regurgitate.reference.paths import CORPUS_FILE, MODEL_SUBDIR, data_dir
from regurgitate.reference.reader import read_corpus_texts

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
    result = train_chat(model_dir, stream, dialogues, spec)
    print(f"chat stages: {result['steps']} steps in {result['wall_s']:.0f}s "
          f"({result['s_per_step']:.3f} s/step); {len(words)} repeat words, "
          f"{len(single)} of them one token")
    if verify:
        from regurgitate.reference.verify import verify_reference

        print(verify_reference(out, threads=spec.threads))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m regurgitate.reference.chat_build",
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
