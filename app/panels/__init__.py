"""Dockable panels: palette, inspector, problems (training panels join them later)."""
