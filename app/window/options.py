"""How a window is set up beyond the user's settings: tests, benchmarks, demos and the
self-test choose these (app/devhooks.py reads them from the environment)."""

from __future__ import annotations

from dataclasses import dataclass

#: ms after start-up before the warm worker starts; Train before then starts one at once
DEFAULT_WARM_MS = 2000


@dataclass(frozen=True)
class WindowOptions:
    """``warm_delay_ms``: when the warm worker starts (None: only when Train is pressed);
    ``autosave_ms``: the autosave delay (None: the setting); ``recovery_answer``:
    ``restore`` or ``discard`` answers the recovery offer without asking; ``examples_dir``:
    where Train an Example puts its copies (None: the default folder); ``worker_command``:
    the training worker's command line (None: this interpreter's, or the bundle's own)."""

    warm_delay_ms: int | None = DEFAULT_WARM_MS
    autosave_ms: int | None = None
    recovery_answer: str = ""
    examples_dir: str | None = None
    worker_command: tuple[str, ...] | None = None
