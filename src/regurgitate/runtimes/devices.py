"""Which dtype a model computes in, and what a run records about where it ran.

The rule, for every torch model the tool loads (causal LMs, scorers, diffusion pipelines):

* ``dtype`` given (``float32``, ``bfloat16``, ``float16``, ...): that dtype, on any device;
  ``auto`` keeps the checkpoint's own dtype.
* no ``dtype`` on the CPU: ``float32``. Half precision on a CPU is emulated by most kernels and
  runs tens of times slower (a [8, 256] forward of the 4.2M-parameter reference model: 12.3 s
  in float16 against 0.25 s in float32), and a newer transformers loads fp16 checkpoints as
  fp16 when it is not told otherwise.
* no ``dtype`` on an accelerator: the checkpoint's own dtype (its half precision stays).

torch is passed in by the caller (it is an optional dependency imported lazily there).
"""

from __future__ import annotations

from typing import Any

from regurgitate.errors import ConfigError

#: what a ``dtype=`` option may name
DTYPE_NAMES = ("auto", "float32", "float16", "bfloat16", "float64")


def is_cpu(device: str) -> bool:
    return str(device).split(":", 1)[0].lower() == "cpu"


def compute_dtype(torch: Any, requested: str | None, device: str) -> Any:
    """The ``dtype`` argument to give a loader: a ``torch.dtype``, or ``"auto"`` for the
    checkpoint's own (see the module's rule)."""
    if requested is None or requested == "":
        return torch.float32 if is_cpu(device) else "auto"
    name = str(requested).removeprefix("torch.")
    if name == "auto":
        return "auto"
    value = getattr(torch, name, None) if name in DTYPE_NAMES else None
    if not isinstance(value, torch.dtype):
        raise ConfigError(f"unknown dtype {requested!r}",
                          hint="one of " + ", ".join(DTYPE_NAMES))
    return value


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` -> ``float32``."""
    return str(dtype).removeprefix("torch.")


def module_runtime(module: Any) -> dict[str, str]:
    """``{"device": ..., "dtype": ...}`` of a torch module, read from its first parameter
    (what it actually computes in, whatever was asked)."""
    try:
        param = next(iter(module.parameters()))
    except (StopIteration, AttributeError, TypeError):
        return {}
    return {"device": str(param.device), "dtype": dtype_name(param.dtype)}


def describe_runtime(runtime: dict[str, str]) -> str:
    """One line for report headers: ``cpu, float32``."""
    return ", ".join(runtime[k] for k in ("device", "dtype") if runtime.get(k)) or "unknown"


def torch_threads() -> int | None:
    """The CPU threads torch computes with in this process (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    return int(torch.get_num_threads())


def pin_threads(threads: int | None) -> None:
    """Make torch compute with ``threads`` CPU threads in this process (a model copy's float
    sums depend on how its work is split over threads); None leaves torch's default."""
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
