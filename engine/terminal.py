"""Untrusted text made safe to print on a terminal.

Names that the CLI prints come from files and hosts it does not trust: node ids and graph
names from a project, class names from folder names or a CSV column, a remote host's probe
output. Printed raw, an ANSI escape sequence in one of them can clear the screen, recolour or
retitle the terminal, and a newline or carriage return can forge an output line. Every such
name goes through :func:`for_terminal` before it is printed.

It lives in the engine, not in ``engine.cli``, because engine code builds such text too: the
errors that list a project's problems one per line (:func:`problem_line`, raised by training
and sweep preparation) and the model card.
"""

from __future__ import annotations

import re

# C0 controls (ESC, CR, LF, BEL...), DEL and the C1 controls (0x9b is a one-byte CSI on some
# terminals); the bidi overrides, embeddings, isolates and marks that reorder what is shown
# (Trojan Source); line/paragraph separators; and lone surrogates (an undecodable file name
# read with surrogateescape), which would otherwise make print() itself fail.
_OTHER = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_ALL = re.compile(f"[\x00-\x1f{_OTHER}]")
_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")  # tab (09) and newline (0a) pass
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object, *, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``,
    ``\\u202e``), so printing it cannot move the cursor, change the terminal or start a line.

    With ``keep_lines`` newlines and tabs pass through (multi-line messages, generated text);
    everything else, carriage returns included, is still escaped. Printable text, non-ASCII
    letters included, is unchanged.
    """
    s = text if isinstance(text, str) else str(text)
    return (_KEEP_LINES if keep_lines else _ALL).sub(_escape, s)


def problem_line(problem: object) -> str:
    """A project problem (``engine.graph.Problem``) as one safe line: ``graph/node: message``
    with the graph name, node id and message escaped."""
    graph = for_terminal(getattr(problem, "graph", ""))
    node = getattr(problem, "node", None)
    where = f"{graph}/{for_terminal(node)}" if node else graph
    return f"{where}: {for_terminal(getattr(problem, 'message', problem))}"
