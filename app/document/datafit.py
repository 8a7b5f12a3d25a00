"""What the document knows of its data (``DataFacts``), and the problems between the data and
the model that it adds to the graph problems.

Built-in and downloadable sets are known at once (``quick_facts``: milliseconds, no torch,
nothing loaded); the facts of data in files are read in the background by the app
(``app/panels/data_facts.py``) and handed to ``GraphDocument.set_data_facts``. Until they
come, the data is *pending*: no fit problems are shown, and Train waits for them.
"""

from __future__ import annotations

from engine.data.facts import DataFacts, quick_facts, reads_files
from engine.graph import Problem
from engine.project import DatasetSpec, Project

_KEEP = 16  # facts of this many specs are kept (undo and redo flip between a few)


def data_key(spec: DatasetSpec) -> str:
    """What the facts of ``spec`` are filed under."""
    return spec.model_dump_json()


class DataFit:
    """Facts (or the sentence saying why the data cannot be read) per dataset spec."""

    def __init__(self) -> None:
        self._known: dict[str, DataFacts | str | None] = {}

    def lookup(self, spec: DatasetSpec) -> DataFacts | str | None:
        """The facts of ``spec``, the sentence of its read error, or None when not known
        (files not read yet, no data set chosen, options the loader will refuse)."""
        key = data_key(spec)
        if key not in self._known and not reads_files(spec):
            self._store(key, quick_facts(spec))
        return self._known.get(key)

    def pending(self, spec: DatasetSpec) -> bool:
        """Files are chosen whose facts have not come yet."""
        return reads_files(spec) and data_key(spec) not in self._known

    def store(self, spec: DatasetSpec, facts: DataFacts | str) -> None:
        self._store(data_key(spec), facts)

    def _store(self, key: str, value: DataFacts | str | None) -> None:
        self._known.pop(key, None)
        self._known[key] = value
        while len(self._known) > _KEEP:
            self._known.pop(next(iter(self._known)))

    def problems(self, project: Project, known: list[Problem]) -> list[Problem]:
        """The problems between the project's model and its data, less those already in
        ``known`` (a graph that does not analyse is reported once, by the graph check)."""
        facts = self.lookup(project.dataset)
        if facts is None:
            return []
        if isinstance(facts, str):
            return [Problem("dataset", None, facts)]
        from engine.train.fit import check_fit

        seen = {(p.graph, p.node, p.message) for p in known}
        return [p for p in check_fit(project, facts) if (p.graph, p.node, p.message) not in seen]

    def merged(self, project: Project, known: list[Problem]) -> list[Problem]:
        """``known`` followed by the data-fit problems; a known problem that the fit check
        repeats with a fix (the same sentence, then what Fit model to data does) is shown
        once, with the fix."""
        fit = self.problems(project, known)
        better = {(p.graph, p.node): p.message for p in fit if p.fix}
        kept = [p for p in known if not better.get((p.graph, p.node), "").startswith(
            p.message + ";")]
        return kept + fit
