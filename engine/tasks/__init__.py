"""Tasks: what a model is trained to do. Each module implements :class:`Task` for one kind:
loss, per-batch training step, evaluation metrics and samples."""

from __future__ import annotations

from engine.tasks.autoencoder import AutoencoderTask
from engine.tasks.base import SampleOut, StepFn, Task, eval_mode
from engine.tasks.classification import ClassificationTask, classification_metrics, confusion_matrix
from engine.tasks.detection import DetectionTask
from engine.tasks.gan import GanTask
from engine.tasks.language_model import LanguageModelTask, sample_logits
from engine.tasks.regression import RegressionTask, regression_metrics
from engine.tasks.segmentation import SegmentationTask
from engine.tasks.seq2seq import Seq2SeqTask
from engine.tasks.speech import SpeechTask

TASKS: dict[str, type[Task]] = {
    t.kind: t
    for t in (ClassificationTask, RegressionTask, LanguageModelTask, GanTask, AutoencoderTask,
              SegmentationTask, DetectionTask, Seq2SeqTask, SpeechTask)
}


def task_class(kind: str) -> type[Task]:
    """The Task class for a TaskSpec kind."""
    try:
        return TASKS[kind]
    except KeyError:
        raise ValueError(f"unknown task {kind!r}; use one of {', '.join(TASKS)}") from None


__all__ = [
    "TASKS", "AutoencoderTask", "ClassificationTask", "DetectionTask", "GanTask",
    "LanguageModelTask", "SegmentationTask", "Seq2SeqTask", "SpeechTask",
    "RegressionTask", "SampleOut", "StepFn", "Task", "classification_metrics",
    "confusion_matrix", "eval_mode", "regression_metrics", "sample_logits", "task_class",
]
