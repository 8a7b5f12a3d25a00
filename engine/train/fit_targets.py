"""What each task needs of the data's targets (``DataBundle.target``), and the sentence
that says so when the data cannot serve the task (regression on class labels, a GAN on
text...)."""

from __future__ import annotations

from engine.data.facts import DataFacts, describe_kind
from engine.graph import Problem
from engine.train import fit_text, fit_vision


def token_word(facts: DataFacts) -> str:
    """What a vocabulary entry is: a character of a corpus, else a token (word, subword)."""
    return "characters" if facts.target == "next_token" else "tokens"


NEEDS = {
    "classification": ("class", "classification needs class labels"),
    "regression": ("real", "regression needs numeric targets"),
    "language_model": ("next_token", "a language model needs a text corpus"),
    **fit_vision.NEEDS,
    **fit_text.NEEDS,
}


def target_problem(kind: str, facts: DataFacts, src: str) -> Problem | None:
    """An error when the task cannot use the data's targets (regression on classes...)."""
    if kind == "gan" and facts.kind != "image":
        return Problem("task.kind", None, f"a GAN learns to make images, but {src} holds "
                       f"{describe_kind(facts.input_shape, facts.input_dtype)}: choose image "
                       f"data (builtin:shapes, builtin:digits, an image folder or a download) "
                       f"or another task.kind")
    need = NEEDS.get(kind)
    if need is None or facts.target == need[0]:
        return None
    has = {"class": f"has {facts.num_classes} classes", "real": "has numeric targets",
           "next_token": "is a text corpus", **fit_vision.HAS, **fit_text.HAS}.get(
               facts.target, "has no targets")
    vision_fix = fit_vision.target_fix(kind, facts) or fit_text.target_fix(kind, facts)
    if vision_fix is not None:
        fix = vision_fix
    elif kind == "regression" and facts.target == "class":
        fix = ("set task.kind to classification, or use data whose target is a number (a CSV "
               "with a numeric target column)")
    elif kind == "classification" and facts.target == "real":
        fix = ("set task.kind to regression, or set dataset.options.task to 'class' to treat "
               "each distinct number as a class")
    elif kind == "language_model":
        fix = "use a text data set (text:FILE or builtin:pytext)"
    else:
        fix = "choose a data set that has them, or another task.kind"
    return Problem("task.kind", None, f"{need[1]}, but {src} {has}: {fix}")
