"""Load on both servers: N concurrent keep-alive clients on 127.0.0.1 for a fixed time.

Prints requests/s, p50/p99/max latency and the errors of each server, asserts nothing:

- the model server (``regurgitate serve``, no argument: the bundled reference chat model) with
  ``POST /v1/chat/completions`` (greedy, ``--max-tokens`` new tokens, prompts varied);
- the index server (``regurgitate index serve``) over the index of the bundled reference
  corpus (built into a temporary directory) with ``POST /`` alternating ``count`` and
  ``attribute`` (``min_len`` 8) queries on 12-word passages cut from the corpus, half of them
  with a word changed.

Each server runs as its own process, started by the real command with an API key file (so
every request also passes the key check); the clients are threads of this process, one
``http.client`` connection each. Every client loop stops by itself: at the deadline or after
``--max-requests`` requests, whichever comes first, and each request has a socket timeout.

    nice -n 10 python -u benchmarks/bench_servers.py [--seconds 15] [--clients 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

KEY = "bench-servers-key"


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    #: the first answer of each kind of error (cut), to tell why
    samples: dict[str, str] = field(default_factory=dict)


def start_server(args: list[str], url_stream: str, key_file: Path) -> tuple[
        subprocess.Popen[str], str]:
    """``regurgitate ARGS --port 0 --api-key-file F`` until it prints its URL."""
    cmd = [sys.executable, "-m", "regurgitate.cli.main", *args, "--host", "127.0.0.1",
           "--port", "0", "--api-key-file", str(key_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"})
    stream = proc.stdout if url_stream == "stdout" else proc.stderr
    assert stream is not None
    for line in stream:  # ends when the process does
        if line.startswith("serving "):
            netloc = urlsplit(line.split(" at ", 1)[1].split()[0]).netloc
            # keep draining the pipe, so the server never blocks on a full one
            threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()
            return proc, netloc
    proc.wait(timeout=60)
    raise SystemExit(f"{' '.join(args)} stopped before serving: {proc.communicate()[1]}")


def stop_server(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=60)


def client_loop(netloc: str, path: str, bodies: list[bytes], deadline: float,
                max_requests: int, seed: int, timeout: float) -> ClientResult:
    """Requests back to back over one keep-alive connection until the deadline or
    ``max_requests``; a failed connection is replaced (and counted as an error)."""
    rng = random.Random(seed)
    result = ClientResult()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    conn: http.client.HTTPConnection | None = None
    for _ in range(max_requests):
        if time.perf_counter() >= deadline:
            break
        body = bodies[rng.randrange(len(bodies))]
        if conn is None:
            conn = http.client.HTTPConnection(netloc, timeout=timeout)
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            result.errors[type(exc).__name__] += 1
            conn.close()
            conn = None
            continue
        elapsed = time.perf_counter() - start
        kind = (f"HTTP {reply.status}" if reply.status != 200
                else "error answer" if data.startswith(b'{"error"') else None)
        if kind is not None:
            result.errors[kind] += 1
            result.samples.setdefault(kind, data[:300].decode("utf-8", "replace"))
        else:
            result.latencies.append(elapsed)
        if reply.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    return result


def load(name: str, netloc: str, path: str, bodies: list[bytes], args: argparse.Namespace
         ) -> None:
    # warm-up (first requests load caches, start the batcher): two, one after the other
    client_loop(netloc, path, bodies, time.perf_counter() + 60, 2, 0, args.timeout)
    load_before = os.getloadavg()[0]
    deadline = time.perf_counter() + args.seconds
    results: list[ClientResult] = [ClientResult() for _ in range(args.clients)]

    def run(i: int) -> None:
        results[i] = client_loop(netloc, path, bodies, deadline, args.max_requests, i + 1,
                                 args.timeout)

    threads = [threading.Thread(target=run, args=(i,), daemon=True)
               for i in range(args.clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:  # each loop ends by itself; the join bound only guards a bug
        t.join(timeout=args.seconds + args.timeout + 30)
    elapsed = time.perf_counter() - start
    lat = sorted(x for r in results for x in r.latencies)
    errors: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for r in results:
        errors.update(r.errors)
        samples |= r.samples
    stuck = sum(t.is_alive() for t in threads)
    if not lat:
        print(f"{name}: no request answered; errors {dict(errors)}")
        return
    q = statistics.quantiles(lat, n=100, method="inclusive")
    print(f"{name}: {args.clients} clients, {elapsed:.1f} s: {len(lat)} answered, "
          f"{len(lat) / elapsed:.1f} requests/s; latency p50 {q[49] * 1000:.1f} ms, "
          f"p99 {q[98] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms; "
          f"errors {sum(errors.values())} {dict(errors) if errors else ''}"
          f"{f'; {stuck} clients still running' if stuck else ''} "
          f"(1-min load average before: {load_before:.1f})")
    for kind, sample in samples.items():
        print(f"  first {kind}: {sample}")


def model_bodies(n: int, max_tokens: int) -> list[bytes]:
    rng = random.Random(7)
    words = ["the", "river", "old", "house", "letter", "winter", "garden", "morning",
             "story", "road", "light", "friend", "window", "music", "city", "ship"]
    return [json.dumps({"messages": [{"role": "user", "content": "Tell me about "
                                      + " ".join(rng.choices(words, k=rng.randint(2, 8)))}],
                        "max_tokens": max_tokens, "temperature": 0}).encode()
            for _ in range(n)]


def index_bodies(n: int) -> list[bytes]:
    from regurgitate import reference

    rng = random.Random(11)
    docs = [d.text.split() for d in reference.iter_corpus()]
    docs = [d for d in docs if len(d) >= 24]
    bodies = []
    for i in range(n):
        words = rng.choice(docs)
        at = rng.randrange(len(words) - 12)
        passage = words[at:at + 12]
        if i % 4 >= 2:  # half of them do not occur as written
            passage[rng.randrange(12)] = "zyzzyva"
        query: dict[str, object] = {"index": "reference", "query": " ".join(passage)}
        if i % 2:
            query |= {"query_type": "attribute", "min_len": 8, "max_docs": 10}
        else:
            query["query_type"] = "count"
        bodies.append(json.dumps(query).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="load time per server")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="most requests one client sends")
    parser.add_argument("--max-tokens", type=int, default=8,
                        help="new tokens per chat completion")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="socket timeout of each request, seconds")
    parser.add_argument("--servers", default="model,index")
    args = parser.parse_args()
    servers = args.servers.split(",")
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "key"
        key_file.write_text(KEY + "\n", encoding="utf-8")
        plans: list[tuple[str, list[str], str, str, Callable[[], list[bytes]]]] = []
        if "model" in servers:
            plans.append(("model server (reference chat model, "
                          f"{args.max_tokens} new tokens)", ["serve"], "stdout",
                          "/v1/chat/completions",
                          lambda: model_bodies(64, args.max_tokens)))
        if "index" in servers:
            from regurgitate.targets.reference import reference_index

            index = reference_index(Path(tmp) / "cache", lambda m: print(m, flush=True))
            plans.append(("index server (reference corpus, count + attribute)",
                          ["index", "serve", f"reference={index}"], "stderr", "/",
                          lambda: index_bodies(256)))
        for name, command, stream, path, bodies in plans:
            proc, netloc = start_server(command, stream, key_file)
            try:
                load(name, netloc, path, bodies(), args)
            finally:
                code = stop_server(proc)
            if code != 0:
                print(f"  the server exited with {code}")


if __name__ == "__main__":
    main()
