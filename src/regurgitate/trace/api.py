"""The trace page's routes, independent of the HTTP server that carries them.

:func:`handle` turns one request (method, path, headers, body) into a :class:`Response`:

========================  ==================================================================
``GET /``                 the page (``static/index.html``); ``/?text=...`` and
                          ``/?prompt=...`` are read by the page's script, which traces them
``GET /static/NAME``      the page's script and style, shipped in the package
``GET /api/info``         the target, the index (or why it cannot be used), the limits
``POST /api/trace``       ``{"text"}``: trace a pasted text
``POST /api/chat``        ``{"form": "chat"|"completion", "messages"|"prompt", "settings"}``:
                          ask the target, trace its answer
``POST /api/works``       ``{"answer"}``: check's works, verdict and near-verbatim passages
``POST /api/sources``     ``{"answer", "token_start", "token_end", "documents"}``: a span's
                          source documents with context
``POST /api/evidence``    ``{"answer"}``: the answer's evidence packets
``POST /api/save``        ``{"answers": [ids], "name"}``: save them as a run
========================  ==================================================================

Every answer is JSON; an error is ``{"error": MESSAGE}`` with a 4xx/5xx status, and the
server goes on. POSTs must be ``application/json`` (a cross-site form cannot send that
without a preflight this server never grants), and on loopback the ``Host`` header must name
a loopback address (no DNS rebinding). All model and corpus text travels as JSON strings;
the page puts it into the DOM as text, never as HTML.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from regurgitate.errors import (
    ConfigError,
    IndexUnavailableError,
    RegurgitateError,
    StoreError,
    TargetError,
)
from regurgitate.trace.engine import TraceEngine

log = logging.getLogger(__name__)

#: the page's own files (nothing else is served from the package)
STATIC = {"index.html": "text/html; charset=utf-8",
          "trace.js": "text/javascript; charset=utf-8",
          "trace.css": "text/css; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                    "Cache-Control": "no-store"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TraceApp:
    """What the routes share: the engine, where sessions are saved, the request-size limit."""

    engine: TraceEngine
    runs_dir: Path
    #: whether the server is bound to loopback only (then Host must be a loopback name)
    loopback: bool = True

    @property
    def max_body_bytes(self) -> int:
        # UTF-8 takes at most 4 bytes a character, JSON escapes up to 6 (\\uXXXX)
        return 6 * self.engine.settings.max_chars + 65_536


def _json(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                    headers=dict(SECURITY_HEADERS))


def error(status: int, message: str) -> Response:
    return _json(status, {"error": message})


def too_large(app: TraceApp, size: int) -> Response:
    """The answer to a body over the limit (read before the body is)."""
    return error(413, f"the request is {size:,} bytes; this page traces texts of at most "
                      f"{app.engine.settings.max_chars:,} characters (restart trace with a "
                      "larger --max-chars, or use `regurgitate check FILE`)")


def _static(name: str) -> Response:
    kind = STATIC.get(name)
    if kind is None:
        return error(404, f"no such file: {name}")
    body = resources.files("regurgitate.trace").joinpath("static", name).read_bytes()
    return Response(200, body, kind, dict(SECURITY_HEADERS))


def _host_ok(app: TraceApp, headers: dict[str, str]) -> bool:
    if not app.loopback:
        return True
    host = headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOOPBACK_HOSTS


def handle(app: TraceApp, method: str, path: str, headers: dict[str, str],
           body: bytes) -> Response:
    """One request (``headers`` with lower-case names); never raises."""
    route = path.split("?", 1)[0]
    if not _host_ok(app, headers):
        return error(403, "this page answers only requests addressed to 127.0.0.1 or "
                          "localhost (Host header)")
    try:
        if method == "GET":
            if route in ("/", "/index.html"):
                return _static("index.html")
            if route.startswith("/static/"):
                return _static(route[len("/static/"):])
            if route == "/api/info":
                return _json(200, info(app))
            return error(404, f"no such page: {route}")
        if method != "POST":
            return error(405, f"{method} is not allowed here")
        handler = POSTS.get(route)
        if handler is None:
            return error(404, f"no such endpoint: {route}")
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(415, "send JSON (Content-Type: application/json)")
        if len(body) > app.max_body_bytes:
            return too_large(app, len(body))
        try:
            payload = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return error(400, "the request is not valid JSON")
        if not isinstance(payload, dict):
            return error(400, "the request must be a JSON object")
        result = handler(app, payload)
        return result if isinstance(result, Response) else _json(200, result)
    except ConfigError as exc:
        return error(400, str(exc))
    except IndexUnavailableError as exc:
        return error(503, str(exc))
    except TargetError as exc:
        return error(502, str(exc))
    except StoreError as exc:
        return error(500, str(exc))
    except RegurgitateError as exc:
        return error(500, str(exc))
    except Exception as exc:
        log.exception("trace request %s %s failed", method, route)
        return error(500, f"internal error ({type(exc).__name__}); the server log has the "
                          "details")


def info(app: TraceApp) -> dict[str, Any]:
    eng = app.engine
    s = eng.settings
    return {"target": eng.target_spec, "index": eng.index_status(),
            "settings": {"min_tokens": s.min_tokens, "max_docs": s.max_docs,
                         "works": s.works, "max_chars": s.max_chars,
                         "max_new_tokens": s.max_new_tokens},
            "runs_dir": str(app.runs_dir)}


def _str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise ConfigError(f"{key!r} must be text")
    return value


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{key!r} must be an integer")
    return value


def post_trace(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any] | Response:
    text = _str(payload, "text")
    problem = app.engine.too_long(text)
    if problem is not None:
        return error(413, problem)
    if not text.strip():
        raise ConfigError("paste some text to trace")
    return app.engine.trace_text(text).data


def post_chat(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any] | Response:
    form = payload.get("form", "chat")
    messages = payload.get("messages")
    if messages is not None and (not isinstance(messages, list) or
                                 not all(isinstance(m, dict) for m in messages)):
        raise ConfigError("'messages' must be a list of {role, content} objects")
    prompt = payload.get("prompt")
    asked = (prompt if isinstance(prompt, str) else "") + "".join(
        str(m.get("content", "")) for m in messages or [])
    problem = app.engine.too_long(asked)
    if problem is not None:
        return error(413, problem)
    settings = payload.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError("'settings' must be an object")
    return app.engine.chat(str(form), prompt, messages, settings).data


def post_sources(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any]:
    docs = payload.get("documents")
    if docs is not None and (not isinstance(docs, list) or
                             not all(isinstance(d, int) for d in docs)):
        raise ConfigError("'documents' must be a list of document numbers")
    return app.engine.sources(_str(payload, "answer"), _int(payload, "token_start"),
                              _int(payload, "token_end"), docs)


def post_works(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any]:
    return app.engine.works(_str(payload, "answer"))


def post_evidence(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any]:
    from regurgitate.trace.session import evidence_packets

    answer = app.engine.answer(_str(payload, "answer"))
    return {"answer": answer.id, "packets": evidence_packets(app.engine, answer)}


def post_save(app: TraceApp, payload: dict[str, Any]) -> dict[str, Any]:
    from regurgitate.trace.session import default_run_path, safe_run_name, save_session

    ids = payload.get("answers")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ConfigError("'answers' must be a list of answer ids")
    answers = [app.engine.answer(i) for i in ids]
    name = payload.get("name")
    path = (app.runs_dir / safe_run_name(name) if isinstance(name, str) and name.strip()
            else default_run_path(app.runs_dir))
    saved = save_session(app.engine, answers, path)
    return {"path": str(saved), "answers": len(answers),
            "report": f"regurgitate report {saved}"}


POSTS = {"/api/trace": post_trace, "/api/chat": post_chat, "/api/sources": post_sources,
         "/api/works": post_works,
         "/api/evidence": post_evidence, "/api/save": post_save}
