"""Dialogs that run engine jobs in the background: export, import from code, remote hosts."""
