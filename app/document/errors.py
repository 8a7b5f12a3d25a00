"""The document's user-facing refusal."""


class EditError(ValueError):
    """An edit the document refuses. The message is one sentence for the user."""
