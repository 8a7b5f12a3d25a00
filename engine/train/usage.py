"""What a run cost: its usage record (``RUN/usage.json``) and where prices come from.

The training worker (rank 0) writes the record through :mod:`engine.train.usage_meter`
at the run's start, at every checkpoint, about every second while it trains, and at its
end; a resumed run adds its segment to the figures already there, so the file always sums
every segment once (see docs/cost.md).

Prices: a job carries ``"price": {"per_hour", "currency", "host", "host_kind"}`` from
:func:`price_of` (the launcher calls it for its host; the local worker falls back to this
machine's price). This machine's price lives in ``machine.json`` in the config folder
(``layerforge remote price local 0.5 --currency EUR``); a remote host's in its HostConfig
(``price_per_hour``, ``currency``; a Slurm host's price is per node).

Nothing here imports torch: the app reads records on its GUI thread.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import UserError

USAGE = "usage.json"
VERSION = 1
MACHINE_FILE = "machine.json"
LOCAL = "local"


@dataclass(frozen=True)
class Usage:
    """The compute a run used, summed over its segments (a resume starts a new one).

    ``host``, ``host_kind``, ``device``, ``nodes``, ``gpus``, ``processes`` and ``cores``
    describe the latest segment; the hours, ``wall_s`` and ``cost`` sum every segment;
    the peaks are the highest of any segment. ``cost`` is None unless every segment ran
    with a known price in the same currency."""

    version: int = VERSION
    host: str = LOCAL
    host_kind: str = LOCAL  # "local" | "ssh" | "slurm"
    device: str = "cpu"
    nodes: int = 1
    gpus: int = 0
    processes: int = 1
    cores: int = 1  # CPU threads, all processes together
    wall_s: float = 0.0
    gpu_hours: float = 0.0
    core_hours: float = 0.0
    peak_memory_mb: float = 0.0  # rank 0's peak resident memory; 0 = not measurable here
    peak_gpu_memory_mb: float | None = None
    segments: int = 0
    price_per_hour: float | None = None
    currency: str = "USD"
    cost: float | None = None

    @property
    def on_gpu(self) -> bool:
        return self.gpus > 0

    @property
    def compute_hours(self) -> float:
        """GPU-hours on GPUs, core-hours on CPUs: the figure the lists show."""
        return self.gpu_hours if self.on_gpu else self.core_hours

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = {f.name: f for f in fields(Usage)}


def from_dict(data: dict[str, Any]) -> Usage:
    """A Usage from usage.json's object; unknown keys are ignored (a newer engine may add
    some), and a value of the wrong type raises ValueError."""
    kept: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _FIELDS:
            continue
        default = _FIELDS[name].default
        if value is None and default is None:
            kept[name] = None
        elif isinstance(default, bool) or isinstance(value, bool):
            raise ValueError(f"{name}: not a number")
        elif isinstance(default, int):
            kept[name] = int(value)
        elif isinstance(default, str):
            kept[name] = str(value)
        else:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{name}: not a finite number")
            kept[name] = number
    return Usage(**kept)


def read_usage(run_dir: str | Path) -> Usage | None:
    """The usage record of a run folder; None when it has none (a run from before usage
    was recorded, a remote run whose files are not downloaded yet) or it is unreadable."""
    try:
        data = json.loads((Path(run_dir) / USAGE).read_text(encoding="utf-8"))
        return from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def project_total(usages: Iterable[Usage | None]) -> dict[str, Any]:
    """Sums over a project's runs: ``runs`` (those with a record), ``wall_s``,
    ``gpu_hours``, ``core_hours``, ``cost`` ({currency: amount}) and ``unpriced`` (runs
    with a record but no cost)."""
    total: dict[str, Any] = {"runs": 0, "wall_s": 0.0, "gpu_hours": 0.0, "core_hours": 0.0,
                             "cost": {}, "unpriced": 0}
    for u in usages:
        if u is None:
            continue
        total["runs"] += 1
        total["wall_s"] += u.wall_s
        total["gpu_hours"] += u.gpu_hours
        total["core_hours"] += u.core_hours
        if u.cost is None:
            total["unpriced"] += 1
        else:
            total["cost"][u.currency] = total["cost"].get(u.currency, 0.0) + u.cost
    return total


# --- words ------------------------------------------------------------------------------
def fmt_wall(seconds: float) -> str:
    """A wall time: ``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{max(seconds, 0.0):.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s // 60 % 60:02d} min"


def fmt_hours(hours: float) -> str:
    """Hours with three significant digits; below a thousandth of an hour (3.6 s),
    ``<0.001``."""
    if hours <= 0:
        return "0"
    return f"{hours:.3g}" if hours >= 0.001 else "<0.001"


def fmt_compute(u: Usage) -> str:
    return f"{fmt_hours(u.gpu_hours)} GPU-h" if u.on_gpu else f"{fmt_hours(u.core_hours)} core-h"


def fmt_memory(mb: float | None) -> str:
    if mb is None or mb <= 0:
        return "—"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_cost(amount: float | None, currency: str) -> str:
    if amount is None:
        return "—"
    if 0 < amount < 0.0001:
        return f"<0.0001 {currency}"
    return f"{amount:.{2 if amount >= 1 or amount == 0 else 4}f} {currency}"


def fmt_costs(costs: dict[str, float]) -> str:
    """Amounts in several currencies, never added up across them."""
    return " + ".join(fmt_cost(v, c) for c, v in sorted(costs.items()))


def where(u: Usage) -> str:
    """Where a run ran, in words: ``local (cpu, 4 cores)``, ``gpu1 over SSH (2 GPUs)``."""
    place = {"ssh": f"{u.host} over SSH", "slurm": f"{u.host} (Slurm)"}.get(u.host_kind, u.host)
    if u.on_gpu:
        what = f"{u.gpus} GPU{'s' if u.gpus != 1 else ''}"
    else:
        what = f"{u.device}, {u.cores} core{'s' if u.cores != 1 else ''}"
    nodes = f" on {u.nodes} nodes" if u.nodes > 1 else ""
    return f"{place} ({what}{nodes})"


def describe(u: Usage) -> str:
    """One line for the CLI and the model card."""
    gpu = f", GPU peak {fmt_memory(u.peak_gpu_memory_mb)}" if u.peak_gpu_memory_mb else ""
    segs = f" in {u.segments} segments" if u.segments > 1 else ""
    return (f"{where(u)}: {fmt_wall(u.wall_s)} wall{segs}, {fmt_compute(u)}, peak memory "
            f"{fmt_memory(u.peak_memory_mb)}{gpu}; {cost_words(u)}")


def cost_words(u: Usage) -> str:
    if u.cost is not None:
        return f"cost {fmt_cost(u.cost, u.currency)}"
    if u.price_per_hour is not None:  # priced now, but an earlier segment was not
        return "cost unknown (a segment ran without a price)"
    return f"no price set for {u.host}"


def describe_total(total: dict[str, Any]) -> str:
    """The project total in one line (see :func:`project_total`)."""
    n = total["runs"]
    if not n:
        return "no run has a usage record yet"
    parts = [f"{n} run{'s' if n != 1 else ''}", f"{fmt_wall(total['wall_s'])} wall"]
    if total["gpu_hours"]:
        parts.append(f"{fmt_hours(total['gpu_hours'])} GPU-h")
    parts.append(f"{fmt_hours(total['core_hours'])} core-h")
    if total["cost"]:
        parts.append(f"cost {fmt_costs(total['cost'])}")
    if total["unpriced"]:
        parts.append(f"{total['unpriced']} without a price")
    return " · ".join(parts)


# --- prices -------------------------------------------------------------------------------
class PriceError(UserError):
    """A price that cannot be used; the message names the file or the value."""


def machine_file() -> Path:
    from engine.remote.config import config_dir

    return config_dir() / MACHINE_FILE


def local_price() -> tuple[float | None, str]:
    """This machine's price per hour and currency (None: not set). An unreadable
    machine.json reads as no price: a run never fails over its cost."""
    try:
        data = json.loads(machine_file().read_text(encoding="utf-8"))
        per_hour = data.get("price_per_hour")
        currency = str(data.get("currency") or "USD")
        if per_hour is None:
            return None, currency
        return check_price(float(per_hour)), currency
    except (OSError, ValueError, TypeError, AttributeError, PriceError):
        return None, "USD"


def set_local_price(per_hour: float | None, currency: str = "USD") -> None:
    """Set (or with None, clear) this machine's price per hour in machine.json."""
    from engine.project import atomic_write_text

    path = machine_file()
    data = {"version": 1, "price_per_hour": None if per_hour is None else check_price(per_hour),
            "currency": check_currency(currency)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def check_price(per_hour: float) -> float:
    if not math.isfinite(per_hour) or per_hour < 0 or per_hour > 1_000_000:
        raise PriceError(f"price per hour {per_hour!r}: give a number from 0 to 1000000")
    return float(per_hour)


def check_currency(currency: str) -> str:
    c = currency.strip()
    if not c or len(c) > 8 or not c.isprintable() or " " in c:
        raise PriceError(f"currency {currency!r}: give a short code such as USD or EUR")
    return c


def price_of(host: Any | None) -> dict[str, Any]:
    """The job's ``"price"`` entry for a run on ``host`` (an engine.remote.config
    HostConfig; None: this machine). Always a dict, so the record names where the run ran
    even without a price (``per_hour`` None). A Slurm host's price is per node-hour."""
    if host is None:
        per_hour, currency = local_price()
        return {"per_hour": per_hour, "currency": currency, "host": LOCAL, "host_kind": LOCAL}
    return {"per_hour": host.price_per_hour, "currency": host.currency or "USD",
            "host": host.name, "host_kind": getattr(host, "kind", "ssh") or "ssh"}


def job_price(job: dict[str, Any], *, remote: bool) -> dict[str, Any]:
    """The price a worker (``remote`` False) or a host's agent (True) records: the job's
    own entry, else this machine's price locally, else the host's own name with no price
    (a job sent by an engine from before prices were recorded)."""
    price = job.get("price")
    if isinstance(price, dict) and price.get("host"):
        return price
    if not remote:
        return price_of(None)
    import os

    kind = "slurm" if os.environ.get("SLURM_JOB_ID") else "ssh"
    return {"per_hour": None, "currency": "USD", "host": socket.gethostname(), "host_kind": kind}


def add_segment(prior: Usage | None, segment: Usage) -> Usage:
    """``segment`` (one job's figures, ``segments`` 1) added to the record of the earlier
    segments; the latest segment says where the run is now."""
    if prior is None or prior.segments <= 0:
        return segment
    same = prior.cost is not None and segment.cost is not None and prior.currency == segment.currency
    return replace(
        segment,
        wall_s=prior.wall_s + segment.wall_s,
        gpu_hours=prior.gpu_hours + segment.gpu_hours,
        core_hours=prior.core_hours + segment.core_hours,
        peak_memory_mb=max(prior.peak_memory_mb, segment.peak_memory_mb),
        peak_gpu_memory_mb=_max(prior.peak_gpu_memory_mb, segment.peak_gpu_memory_mb),
        segments=prior.segments + segment.segments,
        cost=prior.cost + segment.cost if same else None,  # type: ignore[operator]
    )


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)
