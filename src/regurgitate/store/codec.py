"""Converting records to SQLite values and back, exactly.

* token ids are stored as little-endian ``uint32`` bytes, logprobs as little-endian
  ``float64`` bytes (exact for Python floats); ``None`` stays NULL and ``()`` is an empty BLOB;
* finding payloads are stored as their kind tag, payload version and JSON fields
  (:func:`encode_payload` / :func:`decode_payload`; see :mod:`regurgitate.findings`);
* free-form dicts (prompt meta, run settings, meta values) are stored as JSON
  with tuples tagged (``{"__tuple__": [...]}``) so they come back as tuples, not lists.
  numpy scalars and arrays are accepted and come back as Python numbers and lists.
  Other types (sets, bytes, objects) and non-string dict keys raise :class:`StoreError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from regurgitate.errors import StoreError
from regurgitate.findings import Payload, UnknownPayload, payload_from_json

_TUPLE = "__tuple__"
_DICT = "__dict__"
_IDS = np.dtype("<u4")
_FLOATS = np.dtype("<f8")


def encode_ids(ids: Sequence[int] | None) -> bytes | None:
    if ids is None:
        return None
    arr = np.asarray(ids, dtype=np.int64)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > np.iinfo(np.uint32).max):
        raise StoreError("token ids must be between 0 and 2**32-1 to be stored")
    return arr.astype(_IDS).tobytes()


def decode_ids(blob: bytes | None) -> tuple[int, ...] | None:
    if blob is None:
        return None
    return tuple(np.frombuffer(blob, dtype=_IDS).tolist())


def encode_floats(values: Sequence[float] | None) -> bytes | None:
    if values is None:
        return None
    return np.asarray(values, dtype=_FLOATS).tobytes()


def decode_floats(blob: bytes | None) -> tuple[float, ...] | None:
    if blob is None:
        return None
    return tuple(np.frombuffer(blob, dtype=_FLOATS).tolist())


def _tag(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, tuple):
        return {_TUPLE: [_tag(v, where) for v in value]}
    if isinstance(value, list):
        return [_tag(v, where) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise StoreError(f"{where}: dict keys must be strings, got {k!r}")
            out[k] = _tag(v, where)
        if len(out) == 1 and next(iter(out)) in (_TUPLE, _DICT, "__float__"):
            return {_DICT: out}
        return out
    if isinstance(value, np.generic):
        return _tag(value.item(), where)
    if isinstance(value, np.ndarray):
        return _tag(value.tolist(), where)
    raise StoreError(f"{where}: cannot store a value of type {type(value).__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            key = next(iter(value))
            if key == _TUPLE:
                return tuple(_untag(v) for v in value[key])
            if key == _DICT:
                return {k: _untag(v) for k, v in value[key].items()}
            if key == "__float__":
                return float(value[key])
        return {k: _untag(v) for k, v in value.items()}
    return value


def dumps(value: Any, where: str = "value") -> str:
    """JSON text for a value, tuples tagged so :func:`loads` gives them back."""
    return json.dumps(_tag(value, where), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def loads(text: str | None) -> Any:
    if text is None:
        return None
    return _untag(json.loads(text))


def plain(value: Any) -> Any:
    """A JSON-compatible copy of a value (tuples as lists), for exports."""
    return json.loads(json.dumps(_untag(_tag(value, "value")), default=str))


def encode_payload(payload: Payload) -> tuple[str, int, str]:
    """(kind, version, JSON text) of a finding payload."""
    kind = payload.kind_name()
    version = (payload.stored_version if isinstance(payload, UnknownPayload)
               else type(payload).version)
    return kind, version, dumps(payload.to_json(), f"data of a {kind} finding")


def decode_payload(kind: str, version: int, text: str | None) -> Payload:
    """The payload stored as ``kind``/``version``/``text`` (version 0: written by 0.1.0)."""
    return payload_from_json(kind, int(version), loads(text))
