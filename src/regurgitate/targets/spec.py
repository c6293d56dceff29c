"""Target specs: one string naming a backend and its options.

::

    hf:PATH_OR_ID?device=cpu&batch_size=8&dtype=float32&chat=0&trust_remote_code=0
    openai:http://host:port/v1?model=NAME&chat=1&concurrency=8&api_key_env=VAR
          &api_key_file=PATH&timeout=60&max_retries=5
    vllm:MODEL?tensor_parallel_size=1&dtype=auto&gpu_memory_utilization=0.9
          &max_model_len=4096&seed=0&chat=0
    reference            (the bundled tiny reference model; options as for hf:)

A scheme names a :class:`Target` subclass registered in the ``regurgitate.targets``
entry-point group (regurgitate's own schemes are registered there exactly as a plugin's are);
its options are the keyword parameters of that class's ``__init__``, converted by their
annotations (:mod:`regurgitate.options`), and :meth:`Target.from_spec` builds it.

API keys never go in a spec (use ``api_key_env`` or ``api_key_file``); the target's
``name`` is the spec with any URL password removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from regurgitate.entrypoints import TARGETS_GROUP, Registry
from regurgitate.errors import ConfigError
from regurgitate.options import convert_options, option_spec, suggest
from regurgitate.targets.base import Target

_SECRET_OPTIONS = ("api_key", "key", "token")


def _scheme(cls: type) -> str:
    """A target's declared ``scheme`` (empty: not declared), which its entry point's name must
    equal."""
    return cls.scheme if issubclass(cls, Target) else ""


def target_registry() -> Registry[Target]:
    """The target schemes registered in the entry-point group ``regurgitate.targets``
    (:func:`regurgitate.registry.targets` is this registry)."""
    return Registry[Target]("target scheme", TARGETS_GROUP, Target, _scheme)


def schemes() -> list[str]:
    """The registered target schemes."""
    return target_registry().names()


@dataclass(frozen=True, slots=True)
class ParsedSpec:
    """A spec split into scheme, location (path, id or URL, secrets removed) and typed
    options; ``raw_location`` is the location as given (what the target is built with)."""

    scheme: str
    location: str
    options: dict[str, Any]
    name: str
    raw_location: str = ""


def _target_class(scheme: str, word: str) -> type[Target]:
    reg = target_registry()
    names = reg.names()
    if scheme not in names:
        raise ConfigError(f"unknown target scheme {word!r}",
                          hint=f"{suggest(word, names)}valid: {', '.join(names)}")
    return reg.load(scheme)


def parse_spec(spec: str) -> ParsedSpec:
    """Split and validate a spec without building anything (raises ConfigError)."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty target spec", hint=f"valid schemes: {', '.join(schemes())}")
    head, _, query = spec.partition("?")
    scheme, sep, location = head.partition(":")
    cls = _target_class(scheme, scheme if sep else head)
    if cls.needs_location and not location:
        raise ConfigError(f"target spec {spec!r} names no model or URL after '{scheme}:'")
    shown = cls.display_location(location) if location else ""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"cannot parse the options of target spec {head!r}",
                          hint="write them as ?key=value&key=value") from None
    raw_options: dict[str, str] = {}
    for key, raw in pairs:
        if key in _SECRET_OPTIONS:
            raise ConfigError(
                "API keys are not accepted in a target spec",
                hint="put the key in an environment variable (api_key_env=VAR) "
                "or a file (api_key_file=PATH)",
            )
        if key in raw_options:
            raise ConfigError(f"option {key!r} given twice in the target spec")
        raw_options[key] = raw
    # the one option converter; batch_size and chat are accepted from every target (the base
    # class owns them, see Target.BASE_OPTIONS)
    options = convert_options(cls, raw_options, owner=f"{scheme} targets", skip=1,
                              exclude=cls.options_exclude, check_required=False,
                              extra=cls.BASE_OPTIONS)
    for key in option_spec(cls, skip=1, exclude=cls.options_exclude).required:
        if key not in options:
            raise ConfigError(f"{scheme} targets need the option {key!r}",
                              hint=f"e.g. {scheme}:{shown or 'URL'}?{key}=NAME")
    name = f"{scheme}:{shown}" if sep else scheme
    if query:
        name += "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return ParsedSpec(scheme, shown, options, name, raw_location=location)


def make_target(spec: str) -> Target:
    """Build the target a spec describes (heavy libraries are imported only here): the one
    builder of targets. The options ``__init__`` takes go to :meth:`Target.from_spec`; the
    base-class options (``batch_size``, ``chat``) are then set on the built target, so they
    take effect whatever ``__init__`` did with them."""
    parsed = parse_spec(spec)
    cls = target_registry().load(parsed.scheme)
    accepted = option_spec(cls, skip=1, exclude=cls.options_exclude).types
    target = cls.from_spec(parsed.raw_location,
                           {k: v for k, v in parsed.options.items() if k in accepted})
    if not isinstance(target, Target):
        raise ConfigError(f"the {parsed.scheme} target's from_spec returned "
                          f"{type(target).__name__}, not a Target")
    target.apply_base_options(parsed.options)
    target.name = parsed.name
    return target
