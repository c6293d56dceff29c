"""HTTP plumbing of :class:`~regurgitate.index.remote.RemoteIndex`: the ``--index`` URL, the
errors, and a POST with retries, exponential backoff (``Retry-After`` honoured), an optional
request rate and the server's API key (``api_key_env=VAR`` or ``api_key_file=PATH`` in the
URL: the key itself never is, and only the ``Authorization`` header carries it)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from regurgitate.errors import ConfigError, RemoteIndexError
from regurgitate.serving import read_api_key


@dataclass(frozen=True)
class RemoteSpec:
    """A parsed ``--index`` URL."""

    url: str
    index: str
    tokenizer: str | None = None
    api: str = "auto"
    max_query_tokens: int | None = None
    rate: float | None = None
    concurrency: int = 8
    timeout: float = 60.0
    retries: int = 5
    #: environment variable / file holding the server's API key (names, never the key)
    api_key_env: str | None = None
    api_key_file: str | None = None

    @classmethod
    def parse(cls, spec: str) -> RemoteSpec:
        parts = urlsplit(spec)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"not an index URL: {spec}",
                              hint="use http(s)://HOST[:PORT][/PATH]?index=NAME")
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        known = {"index", "tokenizer", "api", "max_query_tokens", "rate", "concurrency",
                 "timeout", "retries", "api_key_env", "api_key_file"}
        if "api_key" in params or "key" in params or "token" in params:
            raise ConfigError("an index URL must not hold the API key itself",
                              hint="put it in an environment variable (api_key_env=VAR) or a "
                              "file (api_key_file=PATH)")
        unknown = set(params) - known
        if unknown:
            raise ConfigError(f"unknown index URL parameter(s): {', '.join(sorted(unknown))}",
                              hint=f"known: {', '.join(sorted(known))}")
        if not params.get("index"):
            raise ConfigError(f"the index URL {spec} names no index",
                              hint="add ?index=NAME (GET on the server lists the names)")
        if params.get("api", "auto") not in ("auto", "infini-gram"):
            raise ConfigError("api= must be 'auto' or 'infini-gram'")
        try:
            return cls(
                url=urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")),
                index=params["index"], tokenizer=params.get("tokenizer"),
                api=params.get("api", "auto"),
                max_query_tokens=int(params["max_query_tokens"])
                if "max_query_tokens" in params else None,
                rate=float(params["rate"]) if "rate" in params else None,
                concurrency=max(1, int(params.get("concurrency", 8))),
                timeout=float(params.get("timeout", 60)),
                retries=max(0, int(params.get("retries", 5))),
                api_key_env=params.get("api_key_env") or None,
                api_key_file=params.get("api_key_file") or None)
        except ValueError as exc:
            raise ConfigError(f"bad index URL parameter: {exc}") from None


class Transport:
    """POSTs JSON with retries, backoff and an optional request rate."""

    def __init__(self, spec: RemoteSpec, client: httpx.Client | None = None) -> None:
        self.spec = spec
        self._client = client or httpx.Client(timeout=spec.timeout)
        self._lock = threading.Lock()
        self._next_at = 0.0
        key = read_api_key(spec.api_key_env, spec.api_key_file, required=True)
        self.__headers = {"Authorization": f"Bearer {key}"} if key else {}

    def close(self) -> None:
        self._client.close()

    def _pace(self) -> None:
        if not self.spec.rate:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + 1.0 / self.spec.rate
        if wait > 0:
            time.sleep(wait)

    def post(self, body: Any) -> Any:
        where = f"index server {self.spec.url}"
        delay = 0.5
        for attempt in range(self.spec.retries + 1):
            self._pace()
            last = attempt == self.spec.retries
            try:
                resp = self._client.post(self.spec.url, json=body, headers=self.__headers)
            except httpx.HTTPError as exc:
                if last:
                    raise RemoteIndexError(f"{where} unreachable: {exc}",
                                           hint="is it running? check the URL") from None
                time.sleep(delay)
                delay *= 2
                continue
            if resp.status_code in (401, 403):
                raise RemoteIndexError(
                    f"{where} refused the API key (HTTP {resp.status_code})" if self.__headers
                    else f"{where} needs an API key (HTTP {resp.status_code})",
                    hint="give the server's key with api_key_env=VAR or api_key_file=PATH "
                    "in the index URL")
            if resp.status_code == 429 or resp.status_code >= 500:
                if last:
                    raise RemoteIndexError(f"{where} answered HTTP {resp.status_code} "
                                           f"{_error_text(resp)} after {attempt + 1} tries")
                retry_after = resp.headers.get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else delay)
                delay *= 2
                continue
            try:
                data = resp.json()
            except ValueError:
                raise RemoteIndexError(f"{where} sent HTTP {resp.status_code} that is not "
                                       "JSON") from None
            if resp.status_code != 200 and not isinstance(data, list):
                raise RemoteIndexError(f"{where} refused the query: "
                                       f"{data.get('error') if isinstance(data, dict) else data}")
            return data
        raise AssertionError("unreachable")


def _error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return ""
    return f"({data.get('error')})" if isinstance(data, dict) and data.get("error") else ""
