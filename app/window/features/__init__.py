"""The window's features: one class each (setup, export, training, welcome), given its
collaborators in its constructor and held by the workspace as a typed field. None patches
another or looks one up at run time; each has a ``shutdown()`` the workspace calls once,
in reverse order of construction, after the close is confirmed."""
