"""Segmentation head block (being built)."""
