"""Moved to :mod:`regurgitate.serving.keys` (the HTTP layer's one home for API keys); this name
stays only for importers not yet updated (``targets/openai_compat.py``). Import from
``regurgitate.serving`` instead."""

from regurgitate.serving.keys import bearer_matches, read_api_key

__all__ = ["bearer_matches", "read_api_key"]
