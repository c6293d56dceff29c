"""Attacks turn a configuration (and maybe a corpus index) into prompts with settings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from regurgitate.options import Configurable
from regurgitate.types import Modality, Prompt

if TYPE_CHECKING:
    from regurgitate.corpus.tokenizer import Tokenizer
    from regurgitate.images.index import ImageIndex
    from regurgitate.index.query import CorpusIndex


@dataclass(frozen=True)
class AttackContext:
    """What an attack may draw on. ``index`` is the reference-corpus index of a text scan and
    ``image_index`` the training-image index of an image scan (None when the scan has none).
    ``target_tokenizer`` is the target's own tokenizer, as the target's resolved profile
    names it (:func:`regurgitate.targets.profile.target_tokenizer`; None when the target has
    none the tool can use, e.g. an HTTP API): an attack whose lengths are meant in the
    target's tokens cuts its prompts with it when the index counts other units."""

    index: CorpusIndex | None
    seed: int = 0
    chat: bool = False
    image_index: ImageIndex | None = None
    target_tokenizer: Tokenizer | None = None

    def require_image_index(self, attack: str) -> ImageIndex:
        """The training-image index, or a ConfigError saying that ``attack`` needs one."""
        if self.image_index is None:
            from regurgitate.errors import ConfigError

            raise ConfigError(f"the {attack} attack needs a training-image index",
                              hint="pass --index DIR (built with: regurgitate index build-images)")
        return self.image_index


class Attack(Configurable, ABC):
    """Produces prompts; the same configuration and seed always give the same prompts
    (with the same ids), which is what lets an interrupted run resume.

    Every hook an attack may provide is declared here with its default (its options through
    :class:`~regurgitate.options.Configurable`); scan setup reads them only through this class.
    """

    #: its registry name (equal to its entry point's name) and the stored ``attack`` of prompts
    name: str = "attack"
    #: the kind of target it prompts: ``"text"`` or ``"image"``
    modality: ClassVar[Modality] = "text"
    #: its place among the attacks a scan runs when the user names none (``--attack``) and the
    #: target declares no ``default_attacks`` (lowest first); None: it runs only when named.
    #: Read through :meth:`default_position`: a subclass does not inherit it
    default_order: ClassVar[int | None] = None
    #: whether it draws its prompts from the scan's index (``ctx.index`` or
    #: ``ctx.image_index``); such an attack runs by default only in a scan with an index
    needs_index: ClassVar[bool] = False

    @classmethod
    def default_position(cls) -> int | None:
        """``default_order`` as this class itself declares it (a subclass of a default attack,
        such as a variant of it, runs only when named unless it declares its own)."""
        value = cls.__dict__.get("default_order")
        return value if isinstance(value, int) else None

    @classmethod
    def preset_options(cls, preset: str) -> frozenset[str]:
        """The options the named preset sets (empty: no such preset, or no presets). A scan
        drops a target's defaults for these when the user names the preset, so the preset's
        own values apply (the user's explicit options still win over both)."""
        return frozenset()

    @abstractmethod
    def prompts(self, ctx: AttackContext) -> list[Prompt]:
        """All prompts of this attack, deterministic for a given context."""

    def notes(self, ctx: AttackContext, prompts: Sequence[Prompt]) -> list[str]:
        """Plain sentences the scan states about how this attack built ``prompts`` (its own,
        from :meth:`prompts` with the same context), e.g. the units its lengths were cut in
        when those are not the index's; recorded in the run and shown by its reports.
        Default: none."""
        return []
