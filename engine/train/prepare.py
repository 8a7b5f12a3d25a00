"""Making a loaded project ready to train, shared by `layerforge train` and the sweeps: its
data paths made absolute, and a refusal, before any run folder exists, of a project that
cannot train (errors, or a model that does not fit its data)."""

from __future__ import annotations

from pathlib import Path

from engine.project import Project, ProjectError
from engine.terminal import problem_line


def absolute_data(project: Project, base: Path) -> None:
    """Dataset paths in a project are relative to the project file (folder ``base``); a
    run, or a sweep's worker, reads them from elsewhere."""
    ds = project.dataset
    if ds.path and not Path(ds.path).expanduser().is_absolute():
        ds.path = str((base / ds.path).resolve())
    for graph in project.graphs.values():  # a backbone's local weights file
        ref = graph.weights
        if ref is not None and not ref.source.startswith("hf:") \
                and not Path(ref.source).expanduser().is_absolute():
            graph.weights = ref.model_copy(update={"source": str((base / ref.source).resolve())})


def refuse_untrainable(project: Project) -> None:
    """Refuse a project with errors (one line per problem), then one whose model does not
    fit its data (:func:`refuse_misfit`)."""
    from engine.shapes import project_problems

    errors = [problem_line(p) for p in project_problems(project) if p.severity == "error"]
    if errors:
        raise ProjectError("the project has errors:\n" + "\n".join(errors))
    refuse_misfit(project)


def refuse_misfit(project: Project) -> None:
    """Refuse, before a run folder exists, a project whose model does not fit its data
    (an Input of another size, fewer outputs than classes): one line per problem, with
    what to change."""
    from engine.train.fit import FIT_MODEL, data_fit_errors

    misfit = data_fit_errors(project)
    if not misfit:
        return
    lines = [problem_line(p) for p in misfit]
    if all(p.fix == FIT_MODEL for p in misfit):
        lines.append("(in the app, Dataset > Fit model to data makes these changes)")
    raise ProjectError("the model does not fit its data, so nothing was started:\n"
                       + "\n".join(lines))
