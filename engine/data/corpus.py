"""Character corpora without torch: the built-in ``pytext`` text and a text's vocabulary.

Kept apart from :mod:`engine.data.text` (which makes tensors) so the editor can learn a
corpus's vocabulary for its data-fit check without importing torch.
"""

from __future__ import annotations

from functools import cache


@cache
def pytext_corpus() -> str:
    """Python's bundled documentation topics (``pydoc_data.topics``), joined in name order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n"


def vocabulary(text: str) -> list[str]:
    """The distinct characters of ``text``, sorted by code point."""
    return sorted(set(text))
