"""The ``reference`` target: the bundled tiny reference model, run by the HF backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from regurgitate.errors import ConfigError
from regurgitate.targets.hf import HFTarget


class ReferenceTarget(HFTarget):
    """``reference?batch_size=4``: the HF target over the bundled reference model (its
    options are the ``hf:`` ones)."""

    needs_location: ClassVar[bool] = False

    @classmethod
    def from_spec(cls, location: str, options: Mapping[str, Any]) -> HFTarget:
        from regurgitate import reference

        if location:
            raise ConfigError(f"the reference target takes no location, got {location!r}",
                              hint="write reference or reference?OPTION=VALUE; for another "
                              "model use hf:DIR")
        # a chat model: prompts with messages go through its chat template unless chat=0
        return cls(str(reference.model_dir()), **{"chat": True, **options})
