import os

# Headless Qt for every test; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
