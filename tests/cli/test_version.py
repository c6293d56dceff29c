"""`regurgitate --version` names the tool's version, its key libraries and the device."""

from __future__ import annotations

from importlib import metadata

from regurgitate import __version__


def test_version_lists_tool_libraries_and_device(run_cli):
    code, out, _ = run_cli(["--version"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"regurgitate {__version__}"
    assert __version__ == metadata.version("regurgitate") != "0.1.0"
    for lib in ("torch", "transformers", "tokenizers", "numba", "diffusers"):
        row = next(line for line in lines if line.split()[:1] == [lib])
        assert row.split()[1] == metadata.version(lib)
    assert any(line.split()[:1] == ["device"] and "cpu" in line for line in lines)
