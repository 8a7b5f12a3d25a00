"""Runs in the app: the one runner thread that drains any event source, the warm worker,
short background jobs with the one hop into the GUI thread, run folders and their records,
and what a run folder says about its run (its history and summary)."""
