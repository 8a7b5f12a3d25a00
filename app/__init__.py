"""The LayerForge desktop application (PySide6). It edits documents and shows engine results."""
