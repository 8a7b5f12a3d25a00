"""The model card's sections about the training run that produced the model: how it
behaves across groups (the bias report), what privacy guarantee its training gave, and
what the training cost. Each reads the run folder (``src.origin``) and gives no lines
when the run has nothing to say (an untrained export, a run without groupings...)."""

from __future__ import annotations

from engine.export.common import Source


def fairness_section(src: Source) -> list[str]:
    from engine.export.card_fairness import section

    return section(src) if src.trained else []


def privacy_section(src: Source) -> list[str]:
    from engine.export.card_privacy import section

    return section(src) if src.trained else []


def usage_section(src: Source) -> list[str]:
    from engine.export.card_usage import section

    return section(src) if src.trained else []
