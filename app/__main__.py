"""`python -m app [FILE]`: the same as `layerforge gui [FILE]`."""

import sys

from app.main import main

sys.exit(main(sys.argv[1:]))
