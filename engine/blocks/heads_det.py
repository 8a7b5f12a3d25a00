"""Detection head block (being built)."""
