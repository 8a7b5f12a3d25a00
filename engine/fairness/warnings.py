"""What the dataset panel warns about before training: classes much rarer than others, and
groups (``Project.fairness``) that the training split holds few samples of. A model
learns little about what it rarely sees, and its figures for it are noisy."""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine.fairness.groups import group_labels
from engine.project import Project

#: a class under this share of the most common class is called rare
IMBALANCE = 0.2
#: a group under this share of the training split is called rare (as well as one under
#: the project's ``fairness.min_group`` samples)
RARE_SHARE = 0.05


def class_warnings(counts: dict[str, int]) -> list[str]:
    """One sentence when the rarest class has under a fifth of the most common's samples."""
    if len(counts) < 2:
        return []
    common = max(counts, key=lambda c: counts[c])
    rare = min(counts, key=lambda c: counts[c])
    if counts[rare] >= IMBALANCE * counts[common]:
        return []
    few = [c for c in counts if counts[c] < IMBALANCE * counts[common]]
    others = f" ({len(few)} classes are under a fifth of it)" if len(few) > 1 else ""
    return [f"Class imbalance: class '{rare}' has {counts[rare]:,} training samples, class "
            f"'{common}' {counts[common]:,} ({counts[rare] / counts[common]:.0%}){others}; "
            "the model may rarely predict it. Collect more samples of it or weigh the classes."]


def group_warnings(groups: dict[str, list[str]], min_group: int) -> list[str]:
    """One sentence per grouping with groups under ``min_group`` samples or under 5% of
    the training split."""
    out = []
    for name, labels in groups.items():
        counts = Counter(labels)
        total = len(labels)
        rare = sorted((g for g, n in counts.items() if n < min_group or n < RARE_SHARE * total),
                      key=lambda g: (counts[g], g))
        if not rare:
            continue
        shown = ", ".join(f"'{g}' {counts[g]:,} ({counts[g] / total:.1%})" for g in rare[:5])
        more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
        out.append(f"Grouping '{name}': groups rare in the training split: {shown}{more}; "
                   f"the model may do worse on them, and groups under {min_group} samples are "
                   "too few to judge in the bias report.")
    return out


def dataset_warnings(project: Project, split_info: Any = None) -> list[str]:
    """Sentences about class imbalance and rare groups in the training split.

    ``split_info`` is the loaded data (a ``DataBundle``, as the dataset panel's preview
    holds it). None: nothing is loaded (the panel asks before training, and decoding a
    whole image or sound set for a warning would cost more than the preview): the classes
    of an image folder come from its listing, groups from their column, folder or
    metadata file; other kinds get no class warning until their data is loaded. A grouping
    that cannot be read gives its error's sentence instead of its warnings."""
    from engine.errors import UserError

    out: list[str] = []
    counts = _class_counts(project, split_info)
    if counts:
        out += class_warnings(counts)
    if project.fairness.groupings:
        try:
            n = len(split_info.train) if split_info is not None else None
            groups = group_labels(project, "train", n)
        except UserError as e:
            return [*out, str(e)]
        out += group_warnings(groups, project.fairness.min_group)
    return out


def _class_counts(project: Project, bundle: Any) -> dict[str, int]:
    """Class -> training samples: from the loaded data, else an image folder's listing."""
    if bundle is None:
        if project.dataset.source != "folder":
            return {}
        from engine.project import Grouping

        classes = Grouping(name="class", kind="folder", level=0)
        spec = project.model_copy(update={"fairness": project.fairness.model_copy(
            update={"groupings": [classes], "intersections": []})})
        return dict(Counter(group_labels(spec, "train", None)["class"]))
    y = getattr(bundle.train, "y", None)
    if bundle.target != "class" or not bundle.classes or y is None or y.dim() != 1:
        return {}
    ids = Counter(y.tolist())
    return {c: ids.get(i, 0) for i, c in enumerate(bundle.classes)}
