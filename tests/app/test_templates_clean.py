"""Every template opens against its own data with nothing to fix: no error and no
warning in the Problems list (resnetmini once gave 10 outputs for 6 shape classes)."""

from __future__ import annotations

import pytest

from engine.templates import list_templates, load_template


@pytest.mark.parametrize("name", list_templates())
def test_a_template_opens_with_no_problems(qapp, name):
    from app.document import GraphDocument

    doc = GraphDocument()
    doc.replace_project(load_template(name))
    assert not doc.data_facts_pending()
    assert [str(p) for p in doc.problems() if p.severity in ("error", "warning")] == []
