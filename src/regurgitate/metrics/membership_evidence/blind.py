"""The blind baseline: a membership classifier that never sees the model.

Das et al. 2024 ("Blind Baselines Beat Membership Inference Attacks for Foundation Models")
show that on many membership benchmarks a classifier of the texts alone beats the attacks,
because members and non-members differ in distribution (dates, topics, formatting). Here:
L2-regularized logistic regression on hashed character n-grams (1-4 by default, TF-IDF-like
sublinear counts, rows normalized), trained and tested by k-fold cross-validation on the
same member/non-member split the attacks are judged on, folds keeping each work's passages
together. Its AUC sits beside every membership AUC; when it comes within
:data:`WARN_MARGIN` of an attack's, that attack's figure is not evidence of membership.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from regurgitate.errors import ConfigError
from regurgitate.metrics.roc import roc_auc

#: an attack whose AUC is not at least this much above the blind baseline's gets a warning
WARN_MARGIN = 0.05
DIMENSIONS = 1 << 16


def _sparse() -> object:
    import scipy.sparse

    return scipy.sparse


def _hashes(data: np.ndarray, n: int, dims: int) -> np.ndarray:
    """Hashed ids of every byte n-gram of ``data`` (a polynomial over the bytes, mixed)."""
    h = np.zeros(data.size - n + 1, dtype=np.uint64)
    for k in range(n):
        h = h * np.uint64(257) + data[k:data.size - n + 1 + k].astype(np.uint64)
    h = (h + np.uint64(n)) * np.uint64(0x9E3779B97F4A7C15)
    return ((h >> np.uint64(29)) % np.uint64(dims)).astype(np.int64)


def ngram_matrix(texts: Sequence[str], n_range: tuple[int, int] = (1, 4),
                 dims: int = DIMENSIONS) -> object:
    """A CSR matrix of hashed character (UTF-8 byte) n-gram counts of the lowercased texts
    with whitespace collapsed, ``log1p`` of the counts, rows L2-normalized."""
    sparse = _sparse()
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo, hi = n_range
    for r, text in enumerate(texts):
        data = np.frombuffer(" ".join(text.lower().split()).encode("utf-8", "surrogatepass"),
                             dtype=np.uint8)
        grams = [_hashes(data, n, dims) for n in range(lo, hi + 1) if data.size >= n]
        if not grams:
            continue
        ids, counts = np.unique(np.concatenate(grams), return_counts=True)
        v = np.log1p(counts.astype(np.float64))
        rows.append(np.full(ids.size, r))
        cols.append(ids)
        vals.append(v / np.sqrt((v * v).sum()))
    if not rows:
        return sparse.csr_matrix((len(texts), dims))  # type: ignore[attr-defined]
    return sparse.csr_matrix(  # type: ignore[attr-defined]
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(texts), dims))


def fit_logistic(x: object, y: np.ndarray, l2: float = 1.0,
                 nonnegative: bool = False) -> tuple[np.ndarray, float]:
    """Weights and bias of L2-regularized logistic regression (L-BFGS-B, scipy); with
    ``nonnegative`` every weight is kept >= 0 (the bias is free)."""
    from scipy.optimize import minimize

    m = x  # a scipy sparse matrix
    yy = np.asarray(y, dtype=np.float64)
    d = m.shape[1]  # type: ignore[attr-defined]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = m @ w + b  # type: ignore[operator]
        p = 1.0 / (1.0 + np.exp(-z))
        loss = float(np.sum(np.logaddexp(0.0, z) - yy * z)) + 0.5 * l2 * float(w @ w)
        g = p - yy
        grad = np.empty(d + 1)
        grad[:d] = m.T @ g + l2 * w  # type: ignore[attr-defined]
        grad[d] = g.sum()
        return loss, grad

    bounds = [(0.0, None)] * d + [(None, None)] if nonnegative else None
    res = minimize(objective, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 500})
    return res.x[:d], float(res.x[d])


def group_folds(groups: Sequence[str], folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per item; items of one group share a fold."""
    names = sorted(set(groups))
    order = rng.permutation(len(names))
    fold_of = {names[j]: i % folds for i, j in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


@dataclass(frozen=True)
class BlindBaseline:
    auc: float
    folds: int
    members: int
    nonmembers: int
    scores: np.ndarray  # out-of-fold decision values, higher = member


def blind_baseline(members: Sequence[str], nonmembers: Sequence[str], *,
                   member_groups: Sequence[str] | None = None,
                   nonmember_groups: Sequence[str] | None = None,
                   folds: int = 5, seed: int = 0) -> BlindBaseline:
    """Cross-validated AUC of the n-gram classifier on members against non-members."""
    if len(members) < folds or len(nonmembers) < folds:
        raise ConfigError(f"the blind baseline needs at least {folds} members and "
                          f"{folds} non-members")
    texts = [*members, *nonmembers]
    y = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    groups = [*(member_groups or [f"m{i}" for i in range(len(members))]),
              *(nonmember_groups or [f"n{i}" for i in range(len(nonmembers))])]
    if len(groups) != len(texts):
        raise ConfigError("one group per text")
    groups = [f"{'m' if lab else 'n'}:{g}" for g, lab in zip(groups, y, strict=True)]
    rng = np.random.default_rng(seed)
    fold = group_folds(groups, folds, rng)
    x = ngram_matrix(texts)
    scores = np.zeros(len(texts))
    for f in range(folds):
        test = fold == f
        train = ~test
        if y[train].min() == y[train].max():
            raise ConfigError("a fold left one class out; pass more works")
        w, b = fit_logistic(x[train], y[train])  # type: ignore[index]
        scores[test] = x[test] @ w + b  # type: ignore[index]
    return BlindBaseline(roc_auc(scores.tolist(), y.astype(int).tolist()), folds, len(members),
                         len(nonmembers), scores)


def shift_warning(attack: str, attack_auc: float, blind_auc: float,
                  margin: float = WARN_MARGIN) -> str | None:
    """The report's sentence when the blind baseline separates the sets itself (AUC at least
    ``0.5 + margin``) and comes within ``margin`` of an attack's AUC, or beats it; None
    otherwise (an attack clearly above it, or a blind baseline at chance: a fair split)."""
    if attack_auc - blind_auc >= margin or blind_auc < 0.5 + margin:
        return None
    return (f"{attack}: AUC {attack_auc:.3f} is within {margin:.2f} of a model-free "
            f"classifier's {blind_auc:.3f} on the same split: the member and non-member sets "
            f"differ in distribution, so this figure is not evidence of membership")
