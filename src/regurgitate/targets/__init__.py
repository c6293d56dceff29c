"""Model backends. Each lives in its own module and imports its heavy library lazily:
``hf`` (torch + transformers), ``openai`` (httpx), ``vllm`` (vllm).
:func:`make_target` builds one from a spec string such as ``hf:./model?batch_size=16``; the
schemes are entry points of the group ``regurgitate.targets``."""

from regurgitate.targets.base import Target
from regurgitate.targets.spec import ParsedSpec, make_target, parse_spec, schemes

__all__ = ["ParsedSpec", "Target", "make_target", "parse_spec", "schemes"]
