"""The model card's "Training cost" section: where the training that produced the model
ran and what it used, from the run folder's usage.json (see engine.train.usage). A run
from before usage was recorded has no section."""

from __future__ import annotations

from engine.export.common import Source
from engine.train.usage import Usage


def section(src: Source) -> list[str]:
    from engine.export.card import md_text
    from engine.train.usage import (
        cost_words,
        fmt_compute,
        fmt_memory,
        fmt_wall,
        read_usage,
        where,
    )

    u = read_usage(src.origin)
    if u is None:
        return []
    segments = (f" in {u.segments} segments (stopped or interrupted, then resumed)"
                if u.segments > 1 else "")
    lines = ["", "## Training cost", "",
             f"- Where: {md_text(where(u))}",
             f"- Wall time: {fmt_wall(u.wall_s)}{segments}",
             f"- Compute: {fmt_compute(u)}"
             + (f" ({u.processes} processes)" if u.processes > 1 else ""),
             f"- Peak memory: {fmt_memory(u.peak_memory_mb)} on the host"
             + (f", {fmt_memory(u.peak_gpu_memory_mb)} on the GPU"
                if u.peak_gpu_memory_mb else "")]
    lines.append(f"- Cost: {md_text(_cost_line(u) if u.cost is not None else cost_words(u))}")
    lines.append("- Not counted: time waiting in a queue, storage and data transfer.")
    return lines


def _cost_line(u: Usage) -> str:
    """The cost, with its arithmetic when one price applied to the whole run."""
    from engine.train.usage import fmt_cost, fmt_hours

    amount = fmt_cost(u.cost, u.currency)
    if u.segments > 1 or u.price_per_hour is None:
        return f"{amount} (the sum of its segments)"
    nodes = f" x {u.nodes} nodes" if u.nodes > 1 else ""
    return (f"{amount} ({fmt_hours(u.wall_s / 3600)} h{nodes} at {u.price_per_hour:g} "
            f"{u.currency} per hour)")
