"""Any OpenAI-compatible HTTP endpoint as a target (scheme ``openai``).

- :mod:`.wire`: the OpenAI wire format, shared with ``regurgitate serve``;
- :mod:`.negotiation`: server families, their neutral sampling fields, refused fields;
- :mod:`.verify`: probes showing whether a control has an effect;
- :mod:`.retries`: backoff, ``Retry-After`` and failure streaks;
- :mod:`.context`: context windows and prompt lengths;
- :mod:`.notes`: what the run records about the endpoint;
- :mod:`.target`: :class:`OpenAITarget`, which puts them together.
"""

from regurgitate.targets.openai.target import OpenAITarget

__all__ = ["OpenAITarget"]
