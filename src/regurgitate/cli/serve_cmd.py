"""`regurgitate serve`: an OpenAI-compatible endpoint over a local model, for offline trials."""

from __future__ import annotations

from typing import Annotated

import typer

from regurgitate.cli.serving_options import HOST_HELP, ApiKeyEnv, ApiKeyFile, InsecureNoAuth


def serve(
    model: Annotated[str | None, typer.Argument(
        help="local model directory (default: the bundled reference model)")] = None,
    host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8000,
    batch_size: Annotated[int, typer.Option(help="requests batched per model call")] = 8,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1, ...")] = "cpu",
    api_key_env: ApiKeyEnv = None,
    api_key_file: ApiKeyFile = None,
    insecure_no_auth: InsecureNoAuth = False,
    fault_rate: Annotated[float, typer.Option(
        help="share of requests that fail on purpose (500, 429, stall, bad JSON, drop), "
             "for testing clients")] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="seed of the fault schedule")] = 0,
    model_name: Annotated[str | None, typer.Option(
        help="answer only requests for this model name (default: any name)")] = None,
) -> None:
    """Serve a local Hugging Face model as /v1/completions and /v1/chat/completions.

    Binds 127.0.0.1; another host needs a key (--api-key-env or --api-key-file), which every
    request must then send as 'Authorization: Bearer <key>'."""
    from regurgitate.model_server import run_server

    run_server(model, host, port, fault_rate, fault_seed=fault_seed, api_key_env=api_key_env,
               api_key_file=api_key_file, insecure_no_auth=insecure_no_auth,
               batch_size=batch_size, device=device, model_name=model_name)
