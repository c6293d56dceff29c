"""Who may reach a server: a host beyond loopback needs an API key, unless serving open is
asked for explicitly (``--insecure-no-auth``, warned about at every start)."""

from __future__ import annotations

import ipaddress

from regurgitate.errors import ConfigError
from regurgitate.serving.keys import read_api_key


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to bind) is reachable from this machine only."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or "" (every address): assume it is reachable


def check_exposure(host: str, api_key: str | None, *, insecure_no_auth: bool = False,
                   serves: str = "this server") -> None:
    """Refuse to serve beyond loopback without a key, unless asked to explicitly
    (``insecure_no_auth``); ``serves`` names what would be exposed, for the message.
    Binds nothing."""
    if api_key is not None and insecure_no_auth:
        raise ConfigError("--insecure-no-auth and an API key exclude each other",
                          hint="drop --insecure-no-auth to require the key")
    if api_key is None and not insecure_no_auth and not is_loopback(host):
        raise ConfigError(
            f"--host {host or repr(host)} would serve {serves} beyond this machine with no "
            "API key: add --api-key-env VAR or --api-key-file PATH "
            "(or --insecure-no-auth to serve without one)")


def server_api_key(host: str, api_key_env: str | None = None, api_key_file: str | None = None,
                   *, insecure_no_auth: bool = False, serves: str = "this server") -> str | None:
    """The key a server started with these command-line options requires (None: no key),
    after :func:`check_exposure`: what every serving command calls before it loads or binds
    anything. A named variable or file that holds no key is a ConfigError."""
    if api_key_env and api_key_file:
        raise ConfigError("give the key once: --api-key-env or --api-key-file")
    api_key = read_api_key(api_key_env, api_key_file, required=True)
    check_exposure(host, api_key, insecure_no_auth=insecure_no_auth, serves=serves)
    return api_key
