"""The CLI fuzz corpus: seeded generators of hostile inputs for every `layerforge` command."""
