"""Small general-purpose widgets shared by panels and dialogs (no document, no engine)."""
