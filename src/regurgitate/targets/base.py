"""The one interface every model backend implements: generate a whole batch of prompts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from regurgitate.options import Configurable
from regurgitate.types import Generation, Modality, Prompt, TokenCounter

if TYPE_CHECKING:
    from regurgitate.runtimes.scoring import Scorer, SuffixScorer
    from regurgitate.targets.profile import TargetProfile


class Target(Configurable, ABC):
    """A model under audit.

    ``generate`` takes a batch and returns one :class:`Generation` per prompt, in order (the
    scan stops with a TargetError naming the target when the count differs; what finished
    stays in the run). Decoding settings travel on each prompt (``prompt.settings``), never on
    the target. A prompt that fails after the backend's own retries comes back with ``error``
    set; a backend that cannot work at all (dead endpoint, missing weights) raises
    ``TargetError``. What each field of a :class:`Generation` means, and what the scan does
    when a target leaves it empty, is written on :class:`~regurgitate.types.Generation`.

    Every hook a target may provide is declared here, with its default; the scan reads them
    only through this class.
    """

    #: the options every target spec takes (``?batch_size=4&chat=1``), owned by this class:
    #: after ``from_spec`` builds the target they are set on it, so they take effect whether
    #: ``__init__`` stores them, merely accepts them, or does not take them at all
    BASE_OPTIONS: ClassVar[dict[str, type]] = {"batch_size": int, "chat": bool}

    #: the scheme it is registered under (``mymodel`` in ``mymodel:LOCATION``); optional for a
    #: packaged target (its entry point's name is the scheme, and must equal this when set),
    #: required for a target in a local plugin file (``--plugins``)
    scheme: ClassVar[str] = ""

    #: a short description for the run spec; must never contain secrets (API keys)
    name: str = "target"
    #: whether prompts are sent as chat messages when an attack offers both forms
    chat: bool = False
    #: how many prompts one ``generate`` call should receive for efficiency
    batch_size: int = 8

    #: whether a spec must name a model or URL after ``scheme:`` (``reference`` does not)
    needs_location: ClassVar[bool] = True
    #: what it makes: ``"text"`` or ``"image"``; a scan uses only components of the same
    modality: ClassVar[Modality] = "text"
    #: the attacks a scan runs when the user names none (empty: the scan's text defaults)
    default_attacks: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def attack_options(cls, location: str) -> dict[str, dict[str, Any]]:
        """Options this target gives attacks by default (``name -> options``); e.g. a folder of
        recorded images tells the attack that replays it where the folder is."""
        return {}

    @classmethod
    def detector_options(cls, location: str) -> dict[str, dict[str, Any]]:
        """Options this target gives detectors by default (``name -> options``), e.g. the
        clique size its bundled model was tuned for."""
        return {}

    @classmethod
    def default_index(cls, location: str, cache: Path,
                      note: Callable[[str], None]) -> Path | None:
        """The index a scan of this target uses when the user gives none, built under ``cache``
        on first use (a bundled model's own training data); None: the user must give one."""
        return None

    @classmethod
    def from_spec(cls, location: str, options: Mapping[str, Any]) -> Target:
        """Build the target a spec ``scheme:LOCATION?options`` names. The options are the
        keyword parameters of ``__init__`` (after the location), already converted by their
        annotations; the default calls ``cls(location, **options)``."""
        return cast(Target, cast(Any, cls)(location, **options))

    @classmethod
    def display_location(cls, location: str) -> str:
        """The location as shown in run names: validated, and without any secret (e.g. a
        URL password). Raises ConfigError for a location this backend cannot use."""
        return location

    def scorer(self) -> Scorer | None:
        """A scorer of texts under this target's own model (full next-token distributions,
        for the lowercase ratio and min-k%++), or None when the backend cannot give one."""
        return None

    def suffix_scorer(self) -> SuffixScorer | None:
        """A scorer of true suffixes under this target's own model (the (n, p) figures), or
        None when the backend cannot give one."""
        return None

    def token_counter(self) -> TokenCounter | None:
        """What counts this target's tokens when its generations carry neither ``token_ids``
        nor ``completion_tokens`` (a text-only API): an object with ``encode(text) -> list[int]``
        (a regurgitate or Hugging Face tokenizer). None (the default): the scan counts them with
        the index's tokenizer, and without an index they stay unknown."""
        return None

    def tokenizer_definition(self) -> str | None:
        """The target's own tokenizer as a ``tokenizers`` JSON definition (what its profile's
        ``tokenizer`` fingerprints), or None (the default) when it has none the tool can use.
        Attacks whose lengths are meant in the target's tokens cut their prompts with it
        (:func:`regurgitate.targets.profile.target_tokenizer`)."""
        return None

    def apply_base_options(self, options: Mapping[str, Any]) -> None:
        """Set the :attr:`BASE_OPTIONS` given in a spec on this target (ConfigError for a
        batch size below 1). Called by the spec builder after :meth:`from_spec`."""
        from regurgitate.errors import ConfigError

        if "batch_size" in options:
            size = int(options["batch_size"])
            if size < 1:
                raise ConfigError(f"bad value {size} for option 'batch_size': must be >= 1")
            self.batch_size = size
        if "chat" in options:
            self.chat = bool(options["chat"])

    def profile(self) -> TargetProfile:
        """What prompts and model figures depend on (BOS rule, tokenizer, chat template,
        context, batch size, threads), as this target resolves it
        (:mod:`regurgitate.targets.profile`); a remote API knows only its batch size."""
        from regurgitate.targets.profile import TargetProfile

        return TargetProfile(batch_size=self.batch_size)

    def runtime(self) -> dict[str, str]:
        """Where the model computes: ``{"device": ..., "dtype": ...}`` as loaded (recorded in
        the run and shown in report headers); empty for remote backends."""
        return {}

    def endpoint_notes(self) -> dict[str, Any]:
        """What a remote backend learned about its endpoint during the run (controls
        accepted and refused, context cuts, whether it samples), recorded in the run as
        meta ``endpoint`` and shown by the reports; empty for local backends."""
        return {}

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt]) -> list[Generation]:
        """Generate for every prompt of the batch."""

    def close(self) -> None:
        """Release resources (HTTP clients, GPU memory)."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
