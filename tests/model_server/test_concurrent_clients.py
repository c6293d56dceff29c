"""The model server under concurrent clients: every request answered."""

from __future__ import annotations

import threading

import httpx


def test_sixteen_concurrent_clients_all_get_answers(hf_target: object) -> None:
    """Requests of different lengths from 16 threads at once: every one answered 200 (the
    request threads once shared the batcher's tokenizer, and a padded batch came out ragged:
    HTTP 500 "expected sequence of length ...")."""
    from regurgitate.model_server import make_server as model_server

    text = "the quick brown fox jumps over a lazy dog and runs far away"
    bodies = [{"messages": [{"role": "user", "content": text[:10 + 5 * (i % 10)]}],
               "max_tokens": 2, "temperature": 0} for i in range(64)]
    statuses: list[int] = []
    with model_server(target=hf_target, model_name="tiny", batch_size=8) as server:
        def client(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=120) as c:
                for body in bodies[i::16]:
                    statuses.append(c.post("/chat/completions", json=body).status_code)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * len(bodies)
