"""What a run's model can do, asked by capability (:mod:`aegan.models.base`), and the one error
for a command a run cannot serve: it names the capability that is missing and the presets
whose models have it.
"""

from __future__ import annotations

from functools import cache

from aegan.errors import CapabilityMissing
from aegan.models import CAPABILITIES, can, model_class
from aegan.presets import PRESETS, get_preset


def names(model_config) -> list[str]:
    """The capabilities (their names, as ``aegan presets --json`` lists them) of a model of
    ``model_config``, read from its family's declarations without building it."""
    return [CAPABILITIES[c] for c in model_class(model_config).capabilities(model_config)]


@cache
def presets_that_can(capability: type) -> tuple[str, ...]:
    """The presets whose models have ``capability``."""
    found = []
    for name in PRESETS:
        model_config = get_preset(name).model
        if capability in model_class(model_config).capabilities(model_config):
            found.append(name)
    return tuple(found)


def require(model, capability: type, purpose: str, where: str = "this run") -> None:
    """Refuse a model that lacks ``capability``, which ``purpose`` (a verb phrase) needs."""
    if can(model, capability):
        return
    able = presets_that_can(capability)
    shown = ", ".join(able[:6]) + (", ..." if len(able) > 6 else "")
    raise CapabilityMissing(
        f"{where} holds {_article(model.family)} {model.family} model, which cannot {purpose}: "
        f"it lacks the {capability.__name__} capability ({CAPABILITIES[capability]}); presets "
        f"whose models have it: {shown or 'none'}")


def require_any(model, capabilities: tuple[type, ...], purpose: str,
                where: str = "this run") -> None:
    """Refuse a model that has none of ``capabilities``, any one of which serves ``purpose``."""
    if any(can(model, c) for c in capabilities):
        return
    able = sorted({name for c in capabilities for name in presets_that_can(c)})
    shown = ", ".join(able[:6]) + (", ..." if len(able) > 6 else "")
    wanted = " or ".join(f"{c.__name__} ({CAPABILITIES[c]})" for c in capabilities)
    raise CapabilityMissing(
        f"{where} holds {_article(model.family)} {model.family} model, which cannot {purpose}: "
        f"it lacks the {wanted} capability; presets whose models have one: {shown or 'none'}")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
