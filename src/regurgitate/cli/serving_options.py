"""The access options every serving command takes (``serve``, ``index serve``, ``trace``):
one declaration, so their names and help read the same everywhere; the rule they feed is
:func:`regurgitate.serving.server_api_key`."""

from __future__ import annotations

from typing import Annotated

import typer

ApiKeyEnv = Annotated[str | None, typer.Option(
    "--api-key-env", metavar="VAR",
    help="require 'Authorization: Bearer <key>' with the key read from this environment "
         "variable")]
ApiKeyFile = Annotated[str | None, typer.Option(
    "--api-key-file", metavar="PATH",
    help="require 'Authorization: Bearer <key>' with the key read from this file "
         "(stripped)")]
InsecureNoAuth = Annotated[bool, typer.Option(
    "--insecure-no-auth",
    help="serve beyond loopback with no key: anyone who reaches the port is answered "
         "(warned about at every start)")]
#: the help of --host: beyond loopback a key is required
HOST_HELP = ("address to bind; beyond loopback (e.g. 0.0.0.0) a key (--api-key-env or "
             "--api-key-file) or --insecure-no-auth is required")
