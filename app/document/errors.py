"""The document's user-facing refusal."""


from engine.errors import UserError


class EditError(UserError, ValueError):
    """An edit the document refuses. The message is one sentence for the user."""
