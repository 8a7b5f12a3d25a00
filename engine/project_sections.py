"""Project sections beyond the graphs, data, task and training loop, and the base model
every section shares (:mod:`engine.project` re-exports them): differential privacy's
settings, the bias report's groupings and a sweep's search settings."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 for a number; "epochs": true is a mistake, not one epoch
        if isinstance(v, bool) and info.field_name:
            kinds = _number_kinds(cls.model_fields[info.field_name].annotation)
            if kinds and bool not in kinds:
                raise ValueError("expected a number, not true or false")
        return v


def _number_kinds(annotation: Any) -> set[type]:
    """The scalar types a field takes when int or float is one of them (``int | None``)."""
    kinds = {a for a in (get_args(annotation) or (annotation,)) if isinstance(a, type)}
    return kinds if kinds & {int, float} else set()


class PrivacySpec(_Model):
    """Differentially private training (DP-SGD with Opacus; see docs/privacy.md). The
    noise multiplier is derived from the target ``epsilon``, ``delta`` and the epochs when
    training starts; each sample's gradient is clipped to ``max_grad_norm``."""

    enabled: bool = False
    epsilon: float = Field(3.0, gt=0.0, le=1000.0)
    #: None: 1 / (training samples), decided when the data is loaded
    delta: float | None = Field(None, gt=0.0, lt=1.0)
    max_grad_norm: float = Field(1.0, gt=0.0, le=1000.0)


class Grouping(_Model):
    """One way of splitting the samples into groups for the bias report (see
    docs/fairness.md). ``kind``: ``column``, a column of a CSV or texts file (``column``);
    ``folder``, a level of the image folder tree (``level`` 0 is the first folder under
    the dataset's root); ``file``, a metadata CSV (``file``) whose first column names the
    sample (its path relative to the dataset's root, or its row number) and whose
    ``column`` (empty: the second) holds the group."""

    name: str = Field(min_length=1, max_length=64)
    kind: Literal["column", "folder", "file"] = "column"
    column: str = Field("", max_length=200)
    level: int = Field(0, ge=0, le=64)
    file: str = Field("", max_length=4000)


class FairnessSpec(_Model):
    """The bias report's groupings, their intersections (each a list of two or more
    grouping names) and the smallest group that is judged (smaller ones are flagged, not
    ranked)."""

    groupings: list[Grouping] = Field(default_factory=list, max_length=32)
    intersections: list[list[str]] = Field(default_factory=list, max_length=32)
    min_group: int = Field(30, ge=1, le=1_000_000)


class SweepSpec(_Model):
    """A sweep's settings, kept with the project (``layerforge sweep`` and the app's
    experiment view read them; see docs/sweeps.md). ``ranges`` maps a key (a setting such
    as ``training.lr``, or a block field ``GRAPH/NODE.PARAM``) to its range written as
    ``--param`` takes it (``float:1e-4..1e-1:log``, ``int:16..256:16``, ``choice:a,b``);
    whether each key names a real field is checked when the sweep starts. Empty
    ``objectives``, ``sampler`` or ``pruner``: the task's defaults."""

    ranges: dict[str, str] = Field(default_factory=dict)
    objectives: list[str] = Field(default_factory=list, max_length=2)
    sampler: Literal["tpe", "random", "grid", "nsga2"] | None = None
    pruner: Literal["median", "hyperband", "none"] | None = None
    trials: int = Field(20, ge=1, le=10_000)
    workers: int = Field(1, ge=1, le=64)
    #: configured SSH hosts (engine.remote.config) that run trials too, one at a time each
    hosts: list[str] = Field(default_factory=list, max_length=64)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    #: the study's name (empty: the project's name) and database (empty: SQLite in the
    #: project's runs folder)
    name: str = Field("", max_length=200)
    storage: str = Field("", max_length=2000)

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, v: dict[str, str]) -> dict[str, str]:
        from engine.sweep.space import SweepError, parse_spec

        for key, spec in v.items():
            try:
                parse_spec(key, spec)
            except SweepError as e:  # its sentence names the key; pydantic adds the field
                raise ValueError(str(e).removeprefix("--param ")) from None
        return v
