"""An OpenAI-compatible server over a local model, with optional fault injection."""

from regurgitate.model_server.app import Server, make_server, run_server
from regurgitate.model_server.faults import FAULT_KINDS, FaultPlan

__all__ = ["FAULT_KINDS", "FaultPlan", "Server", "make_server", "run_server"]
