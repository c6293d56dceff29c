"""Rebuild the bundled reference data: ``python -m tools.reference_build.text.build``.

Steps: corpus + manifest (seconds), tokenizer (seconds), model pretraining (minutes on 2 CPU
cores; run it under ``nice``), the long-context + chat stages of
:mod:`tools.reference_build.text.chat_build` (minutes), then the discoverable-memorization check.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from regurgitate.reference.text.paths import CORPUS_FILE, MODEL_SUBDIR, data_dir
from regurgitate.reference.text.reader import read_corpus_texts
from tools.reference_build.text.chat_train import ChatSpec
from tools.reference_build.text.corpus_build import CorpusSpec, write_corpus
from tools.reference_build.text.tokenizer_build import EOT, save_tokenizer, train_bpe
from tools.reference_build.text.train import TrainSpec, train_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.reference_build.text.build",
                                description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the package's reference/data)")
    p.add_argument("--seed", type=int, default=CorpusSpec().seed, help="corpus seed")
    p.add_argument("--corpus-only", action="store_true", help="write corpus + manifest only")
    p.add_argument("--steps", type=int, default=TrainSpec().steps)
    p.add_argument("--lr", type=float, default=TrainSpec().lr)
    p.add_argument("--log-every", type=int, default=TrainSpec().log_every)
    p.add_argument("--threads", type=int, default=TrainSpec().threads)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (fast on some CPUs)")
    p.add_argument("--no-verify", action="store_true", help="skip the memorization check")
    p.add_argument("--no-chat", action="store_true",
                   help="stop after pretraining (no long-context + chat stages)")
    p.add_argument("--chat-long-steps", type=int, default=ChatSpec().long_steps)
    p.add_argument("--chat-steps", type=int, default=ChatSpec().chat_steps)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out: Path = args.out or data_dir()
    t0 = time.perf_counter()
    manifest = write_corpus(out, CorpusSpec(seed=args.seed))
    print(f"corpus: {manifest.build['documents']} documents, "
          f"{manifest.build['corpus_chars']:,} characters, {len(manifest.items)} planted "
          f"items -> {out / CORPUS_FILE} ({time.perf_counter() - t0:.1f}s)")
    if args.corpus_only:
        return 0
    docs = read_corpus_texts(out / CORPUS_FILE)
    tok = train_bpe(docs)
    model_dir = out / MODEL_SUBDIR
    save_tokenizer(tok, model_dir)
    eot = tok.token_to_id(EOT)
    stream: list[int] = []
    for enc in tok.encode_batch(docs):
        stream.extend(enc.ids)
        stream.append(eot)
    spec = TrainSpec(steps=args.steps, lr=args.lr, log_every=args.log_every,
                     threads=args.threads, bf16=args.bf16)
    result = train_model(stream, tok.get_vocab_size(), eot, model_dir, spec)
    print(f"trained {result.steps} steps in {result.wall_s:.0f}s "
          f"({result.s_per_step:.3f} s/step), final loss {result.final_loss:.4f}")
    if not args.no_chat:
        from tools.reference_build.text.chat_build import run_chat_stage

        run_chat_stage(out, ChatSpec(threads=args.threads, long_steps=args.chat_long_steps,
                                     chat_steps=args.chat_steps), args.seed, verify=False)
    if not args.no_verify:
        from tools.reference_build.text.verify import verify_reference

        print(verify_reference(out, threads=args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
