"""The document layer: a project under edit, its undo commands and clipboard format.

QtCore and QtGui only (QUndoStack lives in QtGui in Qt 6); no widget classes here.
"""

from app.document.clipboard import (
    MIME_BLOCK_TYPE,
    MIME_BLOCKS,
    payload_from_mime,
    payload_to_mime,
)
from app.document.document import SECTIONS, GraphDocument
from app.document.errors import EditError
from app.document.model import EdgeKey, ProjectModel, edge_key

__all__ = ["MIME_BLOCK_TYPE", "MIME_BLOCKS", "SECTIONS", "EdgeKey", "EditError", "GraphDocument",
           "ProjectModel", "edge_key", "payload_from_mime", "payload_to_mime"]
