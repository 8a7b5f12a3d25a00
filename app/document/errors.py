"""The document's user-facing refusal."""


from engine.errors import UserError


class EditError(UserError, ValueError):
    """An edit the document refuses. The message is one sentence for the user."""


class GroupError(EditError):
    """A composite-block edit (group, ungroup, cut, freeze) the document refuses, with the
    sentence that says which block and what to do."""
