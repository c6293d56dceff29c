"""Benchmark the targets: prints figures, asserts nothing.

1. HFTarget tokens/s against a bare float32 ``model.generate`` loop over its own copy of the
   same checkpoint (same prompts, batch size, greedy); the ratio should be >= 0.9. The bare
   copy is loaded with ``dtype=torch.float32`` itself, so a target that silently computes in
   another dtype (fp16 weights on a CPU) shows as a ratio far below 1.
2. OpenAITarget requests/s against the local server (``regurgitate.model_server``) at concurrency
   1, 8 and 32.

Without ``--model`` it uses the bundled reference chat model (fp16 safetensors, as shipped);
``--model build`` builds a GPT-2-style model (4 layers, width 256, 4,096-entry BPE, random
weights) in a temporary directory. Nothing is downloaded.

    nice -n 10 python benchmarks/bench_targets.py [--model DIR|build] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

_VOCABULARY = (
    "the model data memorized text training corpus language verbatim extraction audit prompt "
    "token suffix array index span document report attack divergence"
)
WORDS = _VOCABULARY.split()


def build_bench_model(directory: Path) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    rng = random.Random(0)
    corpus = [" ".join(rng.choices(WORDS, k=60)) + f" {i} {i * 7}" for i in range(4000)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=4096, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>",
                                  bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    eos = tok.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=256, n_layer=4, n_head=4,
                        bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def make_prompts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(5, 30))) for _ in range(n)]


def bare_loop(model, tokenizer, texts: list[str], batch_size: int, new_tokens: int) -> int:
    """The baseline: tokenize a batch, model.generate, count tokens up to EOS."""
    import torch

    eos = tokenizer.eos_token_id
    total = 0
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start : start + batch_size], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            total += row.index(eos) if eos in row else len(row)
        _ = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :],
                                   skip_special_tokens=True)
    return total


def measure(fn) -> tuple[float, float]:
    """(tokens per wall second, tokens per CPU second of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = fn()
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def bench_hf(model_dir: str, args: argparse.Namespace) -> None:
    from regurgitate.targets.hf import HFTarget
    from regurgitate.types import GenerationSettings, Prompt

    target = HFTarget(model_dir, batch_size=args.batch_size)
    texts = make_prompts(args.prompts)

    def run_target(logprobs: bool):
        settings = GenerationSettings(max_new_tokens=args.new_tokens, greedy=True,
                                      logprobs=logprobs)
        prompts = [Prompt(id=str(i), attack="bench", text=t, settings=settings)
                   for i, t in enumerate(texts)]
        return lambda: sum(g.completion_tokens or 0 for g in target.generate(prompts))

    import torch
    from transformers import AutoModelForCausalLM

    bare_model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                      local_files_only=True).eval()
    print(f"target computes on {target.runtime()}; bare loop float32")

    def run_bare():
        return bare_loop(bare_model, target.tokenizer, texts, args.batch_size, args.new_tokens)

    runs = {"bare": run_bare, "target": run_target(False), "target+logprobs": run_target(True)}
    for fn in runs.values():  # warm-up
        fn()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    order = list(runs)
    for _ in range(args.rounds):  # interleaved, order rotated: machine noise hits all alike
        for name in order:
            results[name].append(measure(runs[name]))
        order = order[1:] + order[:1]
    print(f"HF generate: {args.prompts} prompts, batch {args.batch_size}, "
          f"{args.new_tokens} new tokens, greedy, {args.rounds} interleaved rounds")
    bare_wall = max(w for w, _ in results["bare"])
    bare_cpu = statistics.median(c for _, c in results["bare"])
    for name, rows in results.items():
        wall = max(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"  {name:16s} best {wall:8.1f} tok/s wall (ratio {wall / bare_wall:.3f}); "
              f"median {cpu:8.1f} tok/CPU-s (ratio {cpu / bare_cpu:.3f})")


def bench_openai(model_dir: str, args: argparse.Namespace) -> None:
    from regurgitate.model_server import make_server
    from regurgitate.targets.openai import OpenAITarget
    from regurgitate.types import GenerationSettings, Prompt

    settings = GenerationSettings(max_new_tokens=args.http_tokens, greedy=True)
    texts = make_prompts(args.requests, seed=2)
    prompts = [Prompt(id=str(i), attack="bench", text=t, settings=settings)
               for i, t in enumerate(texts)]
    print(f"OpenAI target -> local server: {args.requests} requests, "
          f"{args.http_tokens} new tokens, server batch {args.server_batch}")
    with make_server(model_dir, batch_size=args.server_batch) as server:
        for concurrency in (1, 8, 32):
            with OpenAITarget(server.url, server.model_name, concurrency=concurrency,
                              api_key_env=None) as target:
                target.generate(prompts[:2])  # warm-up, connection set-up
                start = time.perf_counter()
                gens = target.generate(prompts)
                elapsed = time.perf_counter() - start
            failed = sum(not g.ok for g in gens)
            print(f"  concurrency {concurrency:3d}: {len(gens) / elapsed:7.2f} requests/s "
                  f"({elapsed:.2f} s, {failed} failed, "
                  f"peak in flight {server.stats.peak_in_flight})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model directory, or 'build' (default: the "
                        "bundled reference model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--http-tokens", type=int, default=32)
    parser.add_argument("--server-batch", type=int, default=8)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model == "build":
            model_dir, label = str(build_bench_model(Path(tmp))), "built: GPT-2 4x256, vocab 4096"
        elif args.model:
            model_dir = label = args.model
        else:
            from regurgitate import reference

            model_dir, label = str(reference.model_dir()), "bundled reference chat model"
        print(f"model: {label}; torch threads {args.threads}")
        bench_hf(model_dir, args)
        if not args.skip_http:
            bench_openai(model_dir, args)


if __name__ == "__main__":
    main()
