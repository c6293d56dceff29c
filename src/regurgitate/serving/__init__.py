"""The HTTP layer under every regurgitate server (``serve``, ``index serve``, ``trace``).

It owns what the servers must do alike: API keys from an environment variable or a file,
compared in constant time (:mod:`.keys`); the exposure rule, a host beyond loopback refused
without a key unless ``--insecure-no-auth`` (warned about at every start) (:mod:`.exposure`);
JSON over HTTP/1.1 keep-alive with TCP_NODELAY, a socket timeout, one body limit (413 above
it), the bearer check (401) and one error path (:mod:`.handler`); binding (port 0 picks a
free port, reported as ``server.port``), serving in a thread or in the foreground, and a stop
that lets the requests in flight finish (:mod:`.server`). Standard library only.

How a new server plugs in::

    from regurgitate.serving import JSONHandler, bind_server, server_api_key

    class Handler(JSONHandler):
        def on_get(self) -> None:              # authorized already
            self.send_json(200, {"hello": self.app.name})

        def on_post(self, body) -> None:       # body: the parsed JSON (limit checked)
            if self.path != "/echo":
                self.send_json_error(404, f"no route {self.path}")
                return
            self.send_json(200, body)

    # in the command: the same options and refusal as every serving command
    key = server_api_key(host, api_key_env, api_key_file,
                         insecure_no_auth=insecure_no_auth, serves="the echo")
    server = bind_server(Handler, host, port, app=my_state, api_key=key,
                         insecure_no_auth=insecure_no_auth, serves="the echo")
    server.serve_forever()          # or: with server: ... (a background thread, for tests)

Override :meth:`JSONHandler.error_body` when the clients expect another error shape (the
model server keeps OpenAI's, the index server infini-gram's ``{"error": "..."}``), and
``send_bytes`` answers anything that is not JSON (an HTML page). The command-line options
(``--api-key-env``, ``--api-key-file``, ``--insecure-no-auth``) are declared once, in
``regurgitate.cli.serving_options``.
"""

from regurgitate.serving.exposure import check_exposure, is_loopback, server_api_key
from regurgitate.serving.handler import (
    MAX_BODY_BYTES,
    NO_BODY,
    SOCKET_TIMEOUT_S,
    JSONHandler,
)
from regurgitate.serving.keys import bearer_matches, read_api_key
from regurgitate.serving.server import Server, ServingHTTPServer, bind_server

__all__ = [
    "MAX_BODY_BYTES",
    "NO_BODY",
    "SOCKET_TIMEOUT_S",
    "JSONHandler",
    "Server",
    "ServingHTTPServer",
    "bearer_matches",
    "bind_server",
    "check_exposure",
    "is_loopback",
    "read_api_key",
    "server_api_key",
]
