"""Qt objects must die on the GUI thread. A widget left in a reference cycle by one test
would otherwise be freed by Python's cyclic GC on whichever thread allocates next (here: a
dialog's background job), corrupting Qt's timer lists. Collect on the GUI thread after
each test instead."""

from __future__ import annotations

import gc

import pytest

from tests.app.host_fixtures import answerer, dialog  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def collect_on_gui_thread(qapp):
    gc.collect()
    yield
    gc.collect()
