"""What ``regurgitate --version`` prints: the tool, its key libraries and the device models
would run on."""

from __future__ import annotations

from importlib import metadata

#: the libraries whose versions change what a scan computes
KEY_LIBRARIES = ("torch", "transformers", "tokenizers", "numba", "diffusers")


def library_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str | None]:
    """Installed version of each library (None: not installed), read from package metadata
    without importing the library."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def default_device() -> str:
    """The device a target given no ``device=`` option uses, and what else is there."""
    try:
        import torch
    except ImportError:
        return "cpu (torch not installed)"
    threads = torch.get_num_threads()
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"cpu by default ({threads} threads); cuda available: {names}"
    return f"cpu ({threads} threads; float32 unless a target's dtype= says otherwise)"


def version_report(tool_version: str) -> str:
    lines = [f"regurgitate {tool_version}"]
    for name, version in library_versions().items():
        lines.append(f"  {name:13s} {version or 'not installed'}")
    lines.append(f"  {'device':13s} {default_device()}")
    return "\n".join(lines)
