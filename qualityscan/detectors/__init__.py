"""Detectors: one module per signal, each scoring every paragraph 0..1 with evidence.

To add a detector, write its module here and register its class in ``REGISTRY``.
"""

from __future__ import annotations

from qualityscan.detectors.base import Detector, DetectorResult

#: name -> "module:Class" of every available detector, in output order.
REGISTRY: dict[str, str] = {
    "garble": "qualityscan.detectors.garble:GarbleDetector",
    "boilerplate": "qualityscan.detectors.boilerplate:BoilerplateDetector",
    "repetition": "qualityscan.detectors.repetition:RepetitionDetector",
    "prompt_leak": "qualityscan.detectors.prompt_leak:PromptLeakDetector",
}


def available() -> list[str]:
    """Names of the registered detectors."""
    return list(REGISTRY)


def create(name: str, **params: object) -> Detector:
    """Instantiate a registered detector by name."""
    import importlib

    try:
        target = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; available: {', '.join(REGISTRY)}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**params)


__all__ = ["REGISTRY", "Detector", "DetectorResult", "available", "create"]
