"""The main window, its actions, files, autosave and recovery."""
