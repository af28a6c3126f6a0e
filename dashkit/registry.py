"""Registries by class attribute, with "did you mean" errors.

Sources register by ``source_type`` and components by ``component_type``: a
class that names its own type is registered; a subclass that only inherits
one is not (so a test double does not replace the real class).
"""

from __future__ import annotations

import difflib

import param


def registered(base: type, attribute: str) -> dict[str, type]:
    """Every concrete subclass of ``base`` that sets ``attribute`` itself, by its value."""
    return {
        vars(sub)[attribute]: sub
        for sub in param.concrete_descendents(base).values()
        if vars(sub).get(attribute)
    }


def lookup(base: type, attribute: str, name: str, what: str) -> type:
    """The class registered as ``name``; a ValueError with the closest valid name if none."""
    types = registered(base, attribute)
    if name in types:
        return types[name]
    close = difflib.get_close_matches(str(name), types, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown {what} {name!r}; valid {what}s: {', '.join(sorted(types))}.{hint}")


class Registered:
    """Mixin for a base class whose subclasses register by a class attribute.

    The base sets ``registry_attribute`` (e.g. ``"component_type"``) and
    ``registry_noun`` (used in error messages).

    Example
    -------
    >>> from dashkit.components import Component
    >>> Component.lookup("task_stream").__name__
    'TaskStream'
    """

    registry_attribute: str
    registry_noun: str

    @classmethod
    def _registry_base(cls) -> type:
        return next(k for k in cls.__mro__ if "registry_attribute" in vars(k))

    @classmethod
    def types(cls) -> dict[str, type]:
        """Every registered class, by its registry name."""
        return registered(cls._registry_base(), cls.registry_attribute)

    @classmethod
    def lookup(cls, name: str) -> type:
        """The class registered as ``name``, with a suggestion if unknown."""
        return lookup(cls._registry_base(), cls.registry_attribute, name, cls.registry_noun)
