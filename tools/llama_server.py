"""llama-cpp-python's OpenAI-compatible server over the bundled chat model, for tests and
benchmarks.

``make llama`` builds ``.venv-llama`` (llama-cpp-python from source, with its ``[server]``
extra, and the ``gguf`` package) and converts the bundled chat model to
``.venv-llama/models/reference-chat.gguf`` with :mod:`tools.gguf_gpt2` (cached: converted
again only when the model or the converter changes). :func:`serve` starts the server on a
free 127.0.0.1 port and waits for its "Uvicorn running" line (no polling, no sleeps).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("REGURGITATE_LLAMA_VENV", ROOT / ".venv-llama"))
PYTHON = VENV / "bin" / "python"
GGUF = VENV / "models" / "reference-chat.gguf"
MODEL_DIR = ROOT / "src" / "regurgitate" / "reference" / "text" / "data" / "model"
#: seconds the server may take to load (a loaded 2-core machine; the model is 17 MB)
START_TIMEOUT = 300.0


def available() -> str | None:
    """None when the llama venv is built; else why not (with the fix)."""
    if not PYTHON.is_file():
        return f"{VENV} is missing: run `make llama`"
    probe = subprocess.run([str(PYTHON), "-c", "import llama_cpp.server, gguf"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"{VENV} lacks llama-cpp-python[server] or gguf: run `make llama`"
    return None


def ensure_gguf() -> Path:
    """The bundled chat model as GGUF (converted once, then cached)."""
    subprocess.run([str(PYTHON), str(ROOT / "tools" / "gguf_gpt2.py"), str(MODEL_DIR),
                    str(GGUF)], check=True, capture_output=True)
    return GGUF


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(model: Path | None = None, *, n_ctx: int = 512, log: Path | None = None,
          ) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free port; yields its base URL (``.../v1``)."""
    model = model or ensure_gguf()
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [str(PYTHON), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    ready = threading.Event()
    lines: list[str] = []

    def drain() -> None:  # keeps the pipe empty for the server's whole life
        assert proc.stdout is not None
        sink = log.open("ab") if log is not None else None
        try:
            for raw in proc.stdout:
                if sink is not None:
                    sink.write(raw)
                line = raw.decode("utf-8", "replace")
                if len(lines) < 400:
                    lines.append(line)
                if "Uvicorn running on" in line:
                    ready.set()
        finally:
            if sink is not None:
                sink.close()
            ready.set()  # the process ended: stop waiting

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT) or proc.poll() is not None:
            raise RuntimeError("llama_cpp.server did not start:\n" + "".join(lines[-40:]))
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        thread.join(timeout=30)
