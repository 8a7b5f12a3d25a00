"""Training from the app: the run controller thread, run folders and their records."""

from app.runs.controller import Job, RunController, worker_threads

__all__ = ["Job", "RunController", "worker_threads"]
