"""Collects concurrent requests into batches for one target, run by one worker thread."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from regurgitate.targets.base import Target
from regurgitate.types import Generation, Prompt

_STOP = object()


class Batcher:
    """``submit`` blocks until its prompts are generated; prompts that arrive within
    ``max_wait_s`` of each other share a ``target.generate`` call (up to ``max_batch``)."""

    def __init__(self, target: Target, *, max_batch: int = 8, max_wait_s: float = 0.005) -> None:
        self.target = target
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="regurgitate-batcher",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, prompts: Sequence[Prompt]) -> list[Generation]:
        futures: list[Future[Generation]] = []
        for prompt in prompts:
            fut: Future[Generation] = Future()
            self._queue.put((prompt, fut))
            futures.append(fut)
        return [f.result() for f in futures]

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            items = [item]
            deadline = time.monotonic() + self.max_wait_s
            stop_after = False
            while len(items) < self.max_batch:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                items.append(nxt)
            self._process(items)  # type: ignore[arg-type]
            if stop_after:
                return

    def _process(self, items: list[tuple[Prompt, Future[Generation]]]) -> None:
        prompts = [p for p, _ in items]
        try:
            generations = self.target.generate(prompts)
        except Exception as exc:
            for _, fut in items:
                fut.set_exception(exc)
            return
        for (_, fut), gen in zip(items, generations, strict=True):
            fut.set_result(gen)
