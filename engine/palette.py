"""The categorical colours of classes, in class order: the plots, the evaluation galleries,
the dataset preview and the engine's sample pictures all draw class k in colour k (torch-free,
so the editor can import it)."""

CLASS_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
