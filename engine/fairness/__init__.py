"""The bias report (docs/fairness.md): groups of samples from ``Project.fairness``, their
metrics and gaps by Fairlearn, the report of a trained run, and the dataset's warnings.
No Qt here; the app calls :func:`evaluate_run` off the GUI thread."""

from engine.fairness.groups import GroupingError, group_labels, ignored_columns
from engine.fairness.report import BiasReport, GroupingReport, bias_report, default_positive

__all__ = ["BiasReport", "GroupingError", "GroupingReport", "bias_report", "dataset_warnings",
           "default_positive", "evaluate_run", "group_labels", "ignored_columns"]


def __getattr__(name: str):  # torch-importing parts load on first use
    if name == "evaluate_run":
        from engine.fairness.run import evaluate_run

        return evaluate_run
    if name == "dataset_warnings":
        from engine.fairness.warnings import dataset_warnings

        return dataset_warnings
    raise AttributeError(name)
