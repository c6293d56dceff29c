"""Convert a small Hugging Face GPT-2 folder (the bundled chat model) to a GGUF file.

Run with a Python that has the ``gguf`` and ``numpy`` packages (``make llama`` puts both in
``.venv-llama``)::

    .venv-llama/bin/python tools/gguf_gpt2.py MODEL_DIR OUT.gguf

Only what llama.cpp's ``gpt2`` architecture reads is written: the hyper-parameters, the
byte-level BPE vocabulary with its merges (pre-tokenizer ``gpt-2``, no BOS added, the same
as the Hugging Face tokenizer), the chat template, and every tensor as float32. Hugging
Face's GPT-2 stores its linear layers as ``Conv1D`` (``[in, out]``): they are transposed to
the ``[out, in]`` layout llama.cpp expects. The tied output projection is written as its own
tensor. The weights are read straight from ``model.safetensors`` (no torch needed).

The output is written next to a ``.key`` file holding a digest of the inputs and of this
script; when the digest still matches, nothing is converted again (``--force`` converts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Any

_DTYPES = {"F16": "<f2", "F32": "<f4", "BF16": None}
_LINEAR = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight",
           ".mlp.c_proj.weight")
_BLOCK = {
    "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
    "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
}
_INPUTS = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
           "chat_template.jinja")


def input_digest(model: Path) -> str:
    """A digest of the files converted and of this converter."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for name in _INPUTS:
        path = model / name
        if path.is_file():
            h.update(name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def read_safetensors(path: Path) -> dict[str, Any]:
    """Every tensor of a safetensors file as a float32 numpy array."""
    import numpy as np

    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    base = 8 + size
    out: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start:base + end]
        dtype = _DTYPES.get(info["dtype"], "missing")
        if dtype == "missing":
            raise SystemExit(f"unsupported dtype {info['dtype']} of {name}")
        if dtype is None:  # bfloat16: the high half of a float32
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=dtype).astype(np.float32)
        out[name] = array.reshape(info["shape"])
    return out


def gguf_name(name: str) -> str | None:
    """The GGUF tensor name of a Hugging Face GPT-2 tensor (None: not written)."""
    name = name.removeprefix("transformer.")
    fixed = {"wte.weight": "token_embd.weight", "wpe.weight": "position_embd.weight",
             "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias",
             "lm_head.weight": "output.weight"}
    if name in fixed:
        return fixed[name]
    if not name.startswith("h."):
        return None
    _, layer, rest = name.split(".", 2)
    part, kind = rest.rsplit(".", 1)
    if part not in _BLOCK:
        return None
    return f"blk.{layer}.{_BLOCK[part]}.{kind}"


def convert(model: Path, out: Path) -> None:
    import gguf
    import numpy as np

    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    tok = json.loads((model / "tokenizer.json").read_text(encoding="utf-8"))
    tok_config = json.loads((model / "tokenizer_config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "gpt2":
        raise SystemExit(f"{model} is not a GPT-2 model ({config.get('model_type')})")
    if tok["model"]["type"] != "BPE":
        raise SystemExit("only byte-level BPE tokenizers are converted")

    n_embd = int(config["n_embd"])
    writer = gguf.GGUFWriter(str(out), arch="gpt2")
    writer.add_name(model.name)
    writer.add_context_length(int(config.get("n_positions") or config["n_ctx"]))
    writer.add_embedding_length(n_embd)
    writer.add_feed_forward_length(int(config.get("n_inner") or 4 * n_embd))
    writer.add_block_count(int(config["n_layer"]))
    writer.add_head_count(int(config["n_head"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_epsilon", 1e-5)))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab: dict[str, int] = dict(tok["model"]["vocab"])
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = int(added["id"])
    size = max(int(config["vocab_size"]), max(vocab.values()) + 1)
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    for text, i in vocab.items():
        tokens[i] = text
        types[i] = gguf.TokenType.NORMAL
    for added in tok.get("added_tokens", []):
        types[int(added["id"])] = (gguf.TokenType.CONTROL if added.get("special")
                                   else gguf.TokenType.USER_DEFINED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for key, add in (("bos_token", writer.add_bos_token_id), ("eos_token", writer.add_eos_token_id),
                     ("unk_token", writer.add_unk_token_id)):
        text = tok_config.get(key)
        if isinstance(text, str) and text in vocab:
            add(vocab[text])
    pad = config.get("pad_token_id")
    if isinstance(pad, int):
        writer.add_pad_token_id(pad)
    writer.add_add_bos_token(False)  # the Hugging Face tokenizer adds none either
    template = model / "chat_template.jinja"
    if template.is_file():
        writer.add_chat_template(template.read_text(encoding="utf-8"))
    elif tok_config.get("chat_template"):
        writer.add_chat_template(tok_config["chat_template"])

    tensors = read_safetensors(model / "model.safetensors")
    names = set()
    for name, array in tensors.items():
        target = gguf_name(name)
        if target is None:
            continue
        if name.endswith(_LINEAR):
            array = array.T
        writer.add_tensor(target, np.ascontiguousarray(array, dtype=np.float32))
        names.add(target)
        if target == "token_embd.weight" and "lm_head.weight" not in tensors:
            writer.add_tensor("output.weight", np.ascontiguousarray(array, dtype=np.float32))
            names.add("output.weight")

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a Hugging Face GPT-2 folder")
    parser.add_argument("out", type=Path, help="the .gguf file to write")
    parser.add_argument("--force", action="store_true", help="convert even when cached")
    args = parser.parse_args(argv)
    key_file = args.out.with_suffix(args.out.suffix + ".key")
    digest = input_digest(args.model)
    if (not args.force and args.out.is_file() and key_file.is_file()
            and key_file.read_text().strip() == digest):
        print(f"{args.out}: up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    convert(args.model, partial)
    partial.replace(args.out)
    key_file.write_text(digest + "\n")
    print(f"{args.out}: written ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
