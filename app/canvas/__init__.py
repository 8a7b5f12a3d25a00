"""The canvas: scenes mirror the document's graphs; items only paint; tools own gestures."""
