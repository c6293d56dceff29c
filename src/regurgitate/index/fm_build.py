"""Building one FM-index shard from its token file and suffix array (see
:mod:`regurgitate.index.fm_format` for the files written)."""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import numpy as np

from regurgitate.index import fm_bits as fb
from regurgitate.index import fm_kernels as fk
from regurgitate.index import format as fmt


def sort_keys(tokens: np.ndarray, width: int) -> np.ndarray:
    """The key that orders tokens as the suffix-array index does (their little-endian
    bytes compared in order: the byte-swapped value)."""
    t: np.ndarray = tokens.astype(np.uint64)
    if width == 1:
        return t
    if width == 2:
        t = ((t & np.uint64(0xFF)) << np.uint64(8)) | (t >> np.uint64(8))
        return t
    b = [(t >> np.uint64(8 * k)) & np.uint64(0xFF) for k in range(4)]
    out: np.ndarray = (b[0] << np.uint64(24)) | (b[1] << np.uint64(16)) | \
        (b[2] << np.uint64(8)) | b[3]
    return out


def huffman(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Huffman tree of symbols ``0 .. k-1`` with ``counts``: (node table without offsets,
    code bits, code lengths). Node 0 is the root; a child ``< 0`` is the leaf ``-1 - c``."""
    k = counts.size
    if k <= 1:
        return (np.zeros((0, 5), dtype=np.int64), np.zeros(k, dtype=np.uint64),
                np.zeros(k, dtype=np.int64))
    heap: list[tuple[int, int, int]] = [(int(max(c, 0)), i, -1 - i) for i, c in
                                        enumerate(counts)]
    heapq.heapify(heap)
    children: list[tuple[int, int]] = []  # temporary internal ids 0.. (in creation order)
    weight: list[int] = []
    tie = k
    while len(heap) > 1:
        w0, _, a = heapq.heappop(heap)
        w1, _, b = heapq.heappop(heap)
        children.append((a, b))
        weight.append(w0 + w1)
        heapq.heappush(heap, (w0 + w1, tie, len(children) - 1))
        tie += 1
    root = heap[0][2]
    # number internal nodes from the root, breadth first
    order = [root]
    at = 0
    while at < len(order):
        a, b = children[order[at]]
        order.extend(x for x in (a, b) if x >= 0)
        at += 1
    new_id = {old: i for i, old in enumerate(order)}
    nodes = np.zeros((len(order), 5), dtype=np.int64)
    code = np.zeros(k, dtype=np.uint64)
    length = np.zeros(k, dtype=np.int64)
    lengths = np.zeros(len(order), dtype=np.int64)  # bits stored at each node
    path: dict[int, tuple[int, int]] = {root: (0, 0)}  # node -> (code so far, depth)
    for old in order:
        i = new_id[old]
        bits, depth = path[old]
        for side, child in enumerate(children[old]):
            if child >= 0:
                nodes[i, 3 + side] = new_id[child]
                path[child] = (bits | (side << depth), depth + 1)
            else:
                c = -1 - child
                nodes[i, 3 + side] = child
                code[c] = np.uint64(bits | (side << depth))
                length[c] = depth + 1
                if depth + 1 > 63:
                    raise ValueError("Huffman code longer than 63 bits")
        lengths[i] = weight[old]
    nodes[:, 1] = lengths
    nodes[:, 0] = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return nodes, code, length


def write_fm_shard(directory: Path, shard: int, dtype: np.dtype, data: np.ndarray,
                   sa: np.ndarray, doc_starts: np.ndarray, sample_every: int
                   ) -> dict[str, Any]:
    """Write shard ``shard``'s FM-index files from its token bytes ``data`` and its byte
    suffix array ``sa``; returns the manifest's ``fm`` record of the shard."""
    width = np.dtype(dtype).itemsize
    tokens = data.view(np.dtype(dtype).newbyteorder("<"))
    n = int(tokens.size)
    # the byte suffix array becomes the token one in place (no second array of n entries)
    pos = sa[:fk.token_positions(sa, width)]
    if width <= 2:
        present = fk.count_values(tokens, 1 << (8 * width))
        token_of_dense = np.flatnonzero(present).astype(np.uint64)
        order = np.argsort(sort_keys(token_of_dense, width), kind="stable")
        token_of_dense = token_of_dense[order]
        dense_of_token = np.full(1 << (8 * width), -1, dtype=np.int64)
        dense_of_token[token_of_dense.astype(np.int64)] = np.arange(token_of_dense.size)
    else:  # u32: no table of every value; the distinct tokens, sorted, and a binary search
        values = np.unique(tokens)
        order = np.argsort(sort_keys(values, width), kind="stable")
        token_of_dense = values[order].astype(np.uint64)
        dense_of_value = np.empty(values.size, dtype=np.int64)
        dense_of_value[order] = np.arange(values.size)
    sep_token = fmt.separator(dtype)
    sep = int(token_of_dense.size) - 1  # the separator's key is the largest; every shard has one
    kinds = int(token_of_dense.size)
    bwt = np.empty(n, dtype=np.uint8 if kinds <= 256 else np.uint16 if kinds <= 65536
                   else np.int32)
    if width <= 2:
        r0 = fk.bwt_of(tokens, dense_of_token, pos, sep, bwt)
        last = int(dense_of_token[int(tokens[n - 1])])
    else:
        r0 = fk.bwt_of_sorted(tokens, values, dense_of_value, pos, sep, bwt)
        last = int(dense_of_value[int(np.searchsorted(values, tokens[n - 1]))])
    k = int(token_of_dense.size)
    bwt_counts = fk.count_values(bwt, k)
    nodes, code, length = huffman(bwt_counts)
    text_counts = bwt_counts.copy()
    text_counts[sep] -= 1  # the placeholder at r0
    text_counts[last] += 1  # the text's last symbol precedes no suffix
    c_before = np.concatenate(([0], np.cumsum(text_counts)[:-1])).astype(np.int64)
    syms = np.stack([token_of_dense.astype(np.int64), c_before, code.astype(np.int64),
                     length], axis=1)
    total = int(nodes[:, 1].sum()) if nodes.size else 0
    plain = np.zeros(fb.sizes(total)[0], dtype=np.uint64)
    if nodes.size:
        fk.fill_bits(bwt, syms, nodes, plain)
    del bwt
    words, dirs = fb.compress(plain)
    del plain
    for i in range(nodes.shape[0]):
        nodes[i, 2] = fb.rank1(words, dirs, int(nodes[i, 0]))
    doc_pos = (doc_starts.astype(np.int64) // width)
    rows = fk.doc_rows(tokens, pos, sep_token, doc_pos)
    samples = pos[::sample_every]
    sa_dtype = "<u4" if n < 2**32 else "<u8"
    out = {
        "fmbits": words.astype("<u8"), "fmrank": dirs.astype("<u8"), "fmnodes": nodes.astype("<i8"),
        "fmsyms": syms.astype("<i8"), "fmsa": samples.astype(sa_dtype),
        "fmdocrow": rows.astype("<u8"),
    }
    for name, arr in out.items():
        fmt.shard_file(directory, name, shard).write_bytes(np.ascontiguousarray(arr).tobytes())
    return {"n": n, "bits": total, "bit_vectors": fb.LAYOUT, "words": int(words.size),
            "symbols": k, "nodes": int(nodes.shape[0]),
            "sample_every": sample_every, "r0": int(r0), "last": last, "sep": sep,
            "sa_dtype": "u4" if sa_dtype == "<u4" else "u8"}
